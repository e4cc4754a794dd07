//! How the disk-backed store lays out keys, values and timers in the tree.
//!
//! - A key: `group (u16, big endian) ‖ bincode(key)`, so a key group is one contiguous range.
//! - A value: `bincode(value) ‖ last update (i64, little endian)`, which is exactly an entry of
//!   a checkpoint file once the key is put in front of it.
//! - A timer: `group ‖ time (big endian, sign bit flipped so times order as signed) ‖
//!   bincode(key)`, so the keys updated before a time are a range.

use serde::de::DeserializeOwned;
use serde::Serialize;
use sluice_core::{Error, Result};

/// Bytes before the key in a key or a timer: the group.
pub(super) const GROUP_BYTES: usize = 2;
/// Bytes before the key in a timer: the group and the time.
pub(super) const TIMER_PREFIX_BYTES: usize = GROUP_BYTES + 8;

pub(super) fn ser(e: bincode::Error) -> Error {
    Error::Serialization(e.to_string())
}

/// The prefix of a key group's keys and timers.
pub(super) fn group_prefix(group: usize) -> [u8; GROUP_BYTES] {
    (group as u16).to_be_bytes()
}

/// `group ‖ bincode(key)`.
pub(super) fn key_bytes<K: Serialize>(group: usize, key: &K) -> Result<Vec<u8>> {
    let mut b = Vec::with_capacity(24);
    b.extend_from_slice(&group_prefix(group));
    bincode::serialize_into(&mut b, key).map_err(ser)?;
    Ok(b)
}

/// The key of a stored key (`group ‖ bincode(key)`).
pub(super) fn decode_key<K: DeserializeOwned>(stored: &[u8]) -> Result<K> {
    bincode::deserialize(stored.get(GROUP_BYTES..).unwrap_or_default()).map_err(ser)
}

/// `bincode(value) ‖ last update`.
pub(super) fn value_bytes<S: Serialize>(value: &S, last_update: i64) -> Result<Vec<u8>> {
    let mut b = bincode::serialize(value).map_err(ser)?;
    b.extend_from_slice(&last_update.to_le_bytes());
    Ok(b)
}

/// The encoded value and the last update of a stored value; `None` if it is too short.
pub(super) fn split_value(v: &[u8]) -> Option<(&[u8], i64)> {
    let at = v.len().checked_sub(8)?;
    let t: [u8; 8] = v[at..].try_into().ok()?;
    Some((&v[..at], i64::from_le_bytes(t)))
}

/// `group ‖ time ‖ key` (`key` already encoded, without its group).
pub(super) fn timer_key(group: usize, time: i64, key: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(TIMER_PREFIX_BYTES + key.len());
    b.extend_from_slice(&group_prefix(group));
    b.extend_from_slice(&((time as u64) ^ (1 << 63)).to_be_bytes());
    b.extend_from_slice(key);
    b
}

/// The time of a timer; `None` if it is too short.
pub(super) fn timer_time(b: &[u8]) -> Option<i64> {
    let t: [u8; 8] = b.get(GROUP_BYTES..TIMER_PREFIX_BYTES)?.try_into().ok()?;
    Some((u64::from_be_bytes(t) ^ (1 << 63)) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_order_by_signed_time_then_key() {
        let a = timer_key(3, -5, b"z");
        let b = timer_key(3, 0, b"a");
        let c = timer_key(3, 7, b"a");
        let d = timer_key(4, i64::MIN, b"");
        assert!(a < b && b < c && c < d);
        assert_eq!(timer_time(&a), Some(-5));
        assert_eq!(timer_time(&c), Some(7));
        assert_eq!(timer_time(&[1, 2, 3]), None);
    }

    #[test]
    fn values_carry_their_update_time_and_keys_their_group() {
        let v = value_bytes(&"x".to_string(), -9).unwrap();
        let (s, t) = split_value(&v).unwrap();
        assert_eq!(t, -9);
        assert_eq!(bincode::deserialize::<String>(s).unwrap(), "x");
        assert!(split_value(&[1, 2]).is_none());
        let k = key_bytes(300, &(1u8, "k".to_string())).unwrap();
        assert_eq!(&k[..2], &300u16.to_be_bytes());
        assert_eq!(
            decode_key::<(u8, String)>(&k).unwrap(),
            (1, "k".to_string())
        );
    }
}
