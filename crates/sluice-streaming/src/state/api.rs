//! [`State`]: what a `map_with_state` function reads and changes for one key (Spark's
//! `State`).

use sluice_core::{Error, Result};

/// The state of one key during a `map_with_state` call.
///
/// ```
/// use sluice_streaming::state::State;
/// let mut s = State::<i32>::new(None);
/// assert!(!s.exists());
/// s.update(3).unwrap();
/// assert_eq!(s.get().unwrap(), &3);
/// s.remove().unwrap();
/// assert!(s.remove().is_err()); // already removed
/// ```
#[derive(Debug, Clone)]
pub struct State<S> {
    value: Option<S>,
    updated: bool,
    removed: bool,
    timing_out: bool,
}

impl<S> State<S> {
    /// A state holding `value` (or none).
    pub fn new(value: Option<S>) -> Self {
        State {
            value,
            updated: false,
            removed: false,
            timing_out: false,
        }
    }

    /// A state that is timing out (its key has been idle longer than the timeout).
    pub fn timing_out(value: S) -> Self {
        State {
            value: Some(value),
            updated: false,
            removed: false,
            timing_out: true,
        }
    }

    /// Whether there is a value.
    pub fn exists(&self) -> bool {
        self.value.is_some()
    }

    /// The value; an error if there is none (Spark's `NoSuchElementException`).
    pub fn get(&self) -> Result<&S> {
        self.value
            .as_ref()
            .ok_or_else(|| Error::IllegalState("State.get called on a state with no value".into()))
    }

    /// The value, if any.
    pub fn get_option(&self) -> Option<&S> {
        self.value.as_ref()
    }

    /// The value, to change in place (a large state need not be cloned to be updated); it
    /// counts as an update. An error when there is no value, or the state is timing out or
    /// was removed in this call.
    ///
    /// ```
    /// use sluice_streaming::state::State;
    /// let mut s = State::new(Some(vec![1, 2]));
    /// s.get_mut().unwrap().push(3);
    /// assert!(s.is_updated());
    /// assert_eq!(s.get().unwrap(), &vec![1, 2, 3]);
    /// assert!(State::<Vec<i32>>::new(None).get_mut().is_err());
    /// ```
    pub fn get_mut(&mut self) -> Result<&mut S> {
        self.check_writable()?;
        let value = self.value.as_mut().ok_or_else(|| {
            Error::IllegalState("State.get_mut called on a state with no value".into())
        })?;
        self.updated = true;
        Ok(value)
    }

    /// An error when the state may not change: it is timing out, or was removed in this call.
    fn check_writable(&self) -> Result<()> {
        if self.timing_out {
            return Err(Error::IllegalState(
                "cannot update the state of a key that is timing out".into(),
            ));
        }
        if self.removed {
            return Err(Error::IllegalState(
                "cannot update the state after it has been removed".into(),
            ));
        }
        Ok(())
    }

    /// Sets the value. An error when the state is timing out or was removed in this call.
    pub fn update(&mut self, value: S) -> Result<()> {
        self.check_writable()?;
        self.value = Some(value);
        self.updated = true;
        Ok(())
    }

    /// Removes the value. An error when the state is timing out or already removed.
    pub fn remove(&mut self) -> Result<()> {
        if self.timing_out {
            return Err(Error::IllegalState(
                "cannot remove the state of a key that is timing out: it is removed anyway".into(),
            ));
        }
        if self.removed {
            return Err(Error::IllegalState(
                "cannot remove the state that has already been removed".into(),
            ));
        }
        self.value = None;
        self.removed = true;
        Ok(())
    }

    /// Whether the key is timing out (this call is the last one for it, with no value).
    pub fn is_timing_out(&self) -> bool {
        self.timing_out
    }

    /// Whether `update` was called.
    pub fn is_updated(&self) -> bool {
        self.updated
    }

    /// Whether `remove` was called.
    pub fn is_removed(&self) -> bool {
        self.removed
    }

    /// The value, consuming the state.
    pub fn into_value(self) -> Option<S> {
        self.value
    }
}
