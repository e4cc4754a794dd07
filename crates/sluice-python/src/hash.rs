//! The stable hash that places Python keys in partitions.
//!
//! Python randomises `hash()` of `str` and `bytes` per process, so it cannot place keys: two
//! runs (or a run and its restart) would disagree. Like PySpark's `portable_hash`, keys are
//! placed by a hash that is the same in every process and run: `None` is 0, a tuple combines
//! its items' hashes, `str` and `bytes` hash as CPython ≥ 3.11 hashes them with
//! `PYTHONHASHSEED=0` (SipHash-1-3 with a zero key over the string's storage), and other
//! objects use their own `__hash__` (stable for `int`, `float` and `bool`). So a key lands in
//! the partition PySpark (with its default `PYTHONHASHSEED=0`, on Python ≥ 3.11) would put
//! it in.

/// SipHash-1-3 with a zero key, as CPython's `_Py_HashBytes` computes it with
/// `PYTHONHASHSEED=0`, returned as a Python hash (never -1).
pub(crate) fn python_bytes_hash(data: &[u8]) -> i64 {
    if data.is_empty() {
        return 0;
    }
    let h = siphash13(0, 0, data) as i64;
    if h == -1 {
        -2
    } else {
        h
    }
}

/// CPython's hash of a `str` with `PYTHONHASHSEED=0`: the hash of its storage, one byte per
/// character when every character is below 256, two (little-endian) below 65 536, else four.
pub(crate) fn python_str_hash(s: &str) -> i64 {
    let widest = s.chars().map(u32::from).max().unwrap_or(0);
    if s.is_ascii() {
        return python_bytes_hash(s.as_bytes());
    }
    let mut storage = Vec::with_capacity(s.len() * 4);
    if widest < 0x100 {
        storage.extend(s.chars().map(|c| u32::from(c) as u8));
    } else if widest < 0x1_0000 {
        for c in s.chars() {
            storage.extend_from_slice(&(u32::from(c) as u16).to_le_bytes());
        }
    } else {
        for c in s.chars() {
            storage.extend_from_slice(&u32::from(c).to_le_bytes());
        }
    }
    python_bytes_hash(&storage)
}

/// Combines the hashes of a tuple's items, as PySpark's `portable_hash` does.
pub(crate) fn tuple_hash(items: impl ExactSizeIterator<Item = i64>) -> i64 {
    const MASK: u64 = i64::MAX as u64;
    let len = items.len() as u64;
    let mut h: u64 = 0x345678;
    for item in items {
        h = ((h ^ item as u64).wrapping_mul(1_000_003)) & MASK;
    }
    h ^= len;
    h as i64
}

/// The partition of a hash: Python's `hash % n`, never negative.
pub(crate) fn partition_of(hash: i64, n: usize) -> usize {
    hash.rem_euclid(n as i64) as usize
}

fn siphash13(k0: u64, k1: u64, data: &[u8]) -> u64 {
    let mut v = [
        k0 ^ 0x736f_6d65_7073_6575,
        k1 ^ 0x646f_7261_6e64_6f6d,
        k0 ^ 0x6c79_6765_6e65_7261,
        k1 ^ 0x7465_6462_7974_6573,
    ];
    let mut words = data.chunks_exact(8);
    for word in words.by_ref() {
        let mut b = [0u8; 8];
        b.copy_from_slice(word);
        let m = u64::from_le_bytes(b);
        v[3] ^= m;
        sip_round(&mut v);
        v[0] ^= m;
    }
    let mut last = [0u8; 8];
    let tail = words.remainder();
    last[..tail.len()].copy_from_slice(tail);
    let m = u64::from_le_bytes(last) | ((data.len() as u64 & 0xff) << 56);
    v[3] ^= m;
    sip_round(&mut v);
    v[0] ^= m;
    v[2] ^= 0xff;
    for _ in 0..3 {
        sip_round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

fn sip_round(v: &mut [u64; 4]) {
    v[0] = v[0].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(13);
    v[1] ^= v[0];
    v[0] = v[0].rotate_left(32);
    v[2] = v[2].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(16);
    v[3] ^= v[2];
    v[0] = v[0].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(21);
    v[3] ^= v[0];
    v[2] = v[2].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(17);
    v[1] ^= v[2];
    v[2] = v[2].rotate_left(32);
}
