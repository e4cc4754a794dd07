//! The bounds every record type meets, and [`ToText`], Spark's `toString` for records.

/// What a record type must be to flow through an RDD: cloneable (cached partitions and shuffle
/// outputs are read more than once), shareable between worker threads, and owned.
///
/// It is implemented for every type that meets the bounds.
pub trait Data: Clone + Send + Sync + 'static {}

impl<T: Clone + Send + Sync + 'static> Data for T {}

/// The text form of a record, as written by `save_as_text_file` and shown by `print`.
///
/// It follows Spark's (Scala's) `toString` so that output files match Spark's: tuples are
/// `(a,b)`, `Option` is `Some(x)` / `None`, sequences are `[a, b]` (Python's form, since
/// Scala prints arrays as object addresses), strings and numbers are written plainly.
///
/// Implement it for your own types, or use [`impl_to_text_via_display!`](crate::impl_to_text_via_display)
/// for a type whose `Display` is already what you want.
///
/// ```
/// use sluice_core::ToText;
/// assert_eq!(("word".to_string(), 3i64).to_text(), "(word,3)");
/// assert_eq!(Some(1.5f64).to_text(), "Some(1.5)");
/// ```
pub trait ToText {
    /// Appends the text form of `self` to `out`.
    fn write_text(&self, out: &mut String);

    /// The text form of `self` as a new string.
    fn to_text(&self) -> String {
        let mut s = String::new();
        self.write_text(&mut s);
        s
    }
}

/// Implements [`ToText`] for types whose `Display` output is their text form.
///
/// ```
/// struct Celsius(f64);
/// impl std::fmt::Display for Celsius {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { write!(f, "{}C", self.0) }
/// }
/// sluice_core::impl_to_text_via_display!(Celsius);
/// use sluice_core::ToText;
/// assert_eq!(Celsius(21.5).to_text(), "21.5C");
/// ```
#[macro_export]
macro_rules! impl_to_text_via_display {
    ($($t:ty),* $(,)?) => {
        $(impl $crate::ToText for $t {
            fn write_text(&self, out: &mut String) {
                use std::fmt::Write as _;
                let _ = write!(out, "{}", self);
            }
        })*
    };
}

impl_to_text_via_display!(
    String, str, char, bool, i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize
);
impl_to_text_via_display!(compact_str::CompactString);

/// Writes a floating-point number the way Java's `Double.toString` / `Float.toString` do
/// (and so Spark's text output): `NaN`, `Infinity`, plain decimals with at least one fractional
/// digit for magnitudes in `[1e-3, 1e7)`, and `1.0E7`-style scientific notation outside.
/// `plain` and `sci` are Rust's shortest round-trip forms (`{}` and `{:e}`).
fn write_java_float(out: &mut String, value: f64, plain: &str, sci: &str) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "Infinity" } else { "-Infinity" });
    } else if value == 0.0 || (1e-3..1e7).contains(&value.abs()) {
        out.push_str(plain);
        if !plain.contains('.') {
            out.push_str(".0");
        }
    } else {
        let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
        out.push_str(mantissa);
        if !mantissa.contains('.') {
            out.push_str(".0");
        }
        out.push('E');
        out.push_str(exp);
    }
}

impl ToText for f64 {
    fn write_text(&self, out: &mut String) {
        write_java_float(out, *self, &format!("{self}"), &format!("{self:e}"));
    }
}

impl ToText for f32 {
    fn write_text(&self, out: &mut String) {
        write_java_float(
            out,
            f64::from(*self),
            &format!("{self}"),
            &format!("{self:e}"),
        );
    }
}

impl ToText for () {
    fn write_text(&self, out: &mut String) {
        out.push_str("()");
    }
}

impl<T: ToText + ?Sized> ToText for &T {
    fn write_text(&self, out: &mut String) {
        (**self).write_text(out)
    }
}

impl<T: ToText + ?Sized> ToText for Box<T> {
    fn write_text(&self, out: &mut String) {
        (**self).write_text(out)
    }
}

impl<T: ToText + ?Sized> ToText for std::sync::Arc<T> {
    fn write_text(&self, out: &mut String) {
        (**self).write_text(out)
    }
}

impl<T: ToText> ToText for Option<T> {
    fn write_text(&self, out: &mut String) {
        match self {
            Some(v) => {
                out.push_str("Some(");
                v.write_text(out);
                out.push(')');
            }
            None => out.push_str("None"),
        }
    }
}

impl<T: ToText> ToText for Vec<T> {
    fn write_text(&self, out: &mut String) {
        self.as_slice().write_text(out)
    }
}

impl<T: ToText> ToText for [T] {
    fn write_text(&self, out: &mut String) {
        out.push('[');
        for (i, v) in self.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            v.write_text(out);
        }
        out.push(']');
    }
}

macro_rules! tuple_to_text {
    ($($name:ident $idx:tt),+) => {
        impl<$($name: ToText),+> ToText for ($($name,)+) {
            fn write_text(&self, out: &mut String) {
                out.push('(');
                let mut _first = true;
                $(
                    if !_first { out.push(','); }
                    _first = false;
                    self.$idx.write_text(out);
                )+
                out.push(')');
            }
        }
    };
}

tuple_to_text!(A 0);
tuple_to_text!(A 0, B 1);
tuple_to_text!(A 0, B 1, C 2);
tuple_to_text!(A 0, B 1, C 2, D 3);
tuple_to_text!(A 0, B 1, C 2, D 3, E 4);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spark_like_text_forms() {
        assert_eq!(("a".to_string(), 1i32).to_text(), "(a,1)");
        assert_eq!((1u8, (2i64, 3.0f64)).to_text(), "(1,(2,3.0))");
        assert_eq!(None::<i32>.to_text(), "None");
        assert_eq!(vec![1, 2, 3].to_text(), "[1, 2, 3]");
        assert_eq!(2.5f64.to_text(), "2.5");
        assert_eq!(f64::NAN.to_text(), "NaN");
        assert_eq!(f64::NEG_INFINITY.to_text(), "-Infinity");
        assert_eq!(1e7f64.to_text(), "1.0E7");
        assert_eq!(1.5e-5f64.to_text(), "1.5E-5");
        assert_eq!(0.001f64.to_text(), "0.001");
        assert_eq!((-0.0f64).to_text(), "-0.0");
        assert_eq!(0.1f32.to_text(), "0.1");
        assert_eq!("x".to_text(), "x");
    }
}
