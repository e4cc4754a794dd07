//! The checkpoint reader: the framing of checkpoint files, manifests, the header of state
//! files and the key-group state behind it, as a restore reads them.
//!
//! Each input is decoded twice: as a whole file (`unframe`, which a mutation almost always
//! fails on the checksum), and as a payload framed here, so that the decoders behind the
//! checksum see the mutations too.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use sluice_streaming::checkpoint::format::{frame, split_state_payload, unframe, StateHeader};
use sluice_streaming::checkpoint::manifest::Manifest;
use sluice_streaming::state::{StateStore, DEFAULT_KEY_GROUPS};

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz/manifest-00000000000000000001.ckpt");
    if let Ok(payload) = unframe(data, path) {
        payload_of_file(payload, path);
    }
    let framed = frame(data);
    match unframe(&framed, path) {
        Ok(payload) => {
            assert_eq!(payload, data, "a framed payload reads back as itself");
            payload_of_file(payload, path);
        }
        Err(e) => panic!("a framed payload is refused: {e}"),
    }
    // A frame cut short or extended is refused.
    if !framed.is_empty() {
        assert!(unframe(&framed[..framed.len() - 1], path).is_err());
    }
});

/// What a restore does with a checked payload: a manifest, or a state file.
fn payload_of_file(payload: &[u8], path: &Path) {
    if let Ok(m) = serde_json::from_slice::<Manifest>(payload) {
        // What was read can be written again, and read back.
        let json = serde_json::to_vec_pretty(&m).expect("a manifest serialises");
        serde_json::from_slice::<Manifest>(&json).expect("a written manifest reads back");
    }
    // The state file's header against the header it holds (so the decoding behind it is
    // reached), and against one it does not.
    if let Some(found) = header_of(payload) {
        match split_state_payload(payload, path, &found) {
            Ok(state) => restore(found.group, state),
            Err(e) => panic!("a state file is refused against its own header: {e}"),
        }
        let other = StateHeader {
            sequence: found.sequence.wrapping_add(1),
            ..found
        };
        assert!(split_state_payload(payload, path, &other).is_err());
    } else {
        let expected = StateHeader {
            operator: "counts".into(),
            group: 35,
            sequence: 2,
            full: false,
        };
        assert!(split_state_payload(payload, path, &expected).is_err());
    }
    // The payload as the state itself, too.
    restore(0, payload);
}

/// The header a state payload holds (its length, u32 little-endian, then JSON), if readable.
fn header_of(payload: &[u8]) -> Option<StateHeader> {
    let len = u32::from_le_bytes(payload.get(..4)?.try_into().ok()?) as usize;
    serde_json::from_slice(payload.get(4..4usize.checked_add(len)?)?).ok()
}

/// Restores a key group of the stores of `update_state_by_key` / `map_with_state` operators,
/// from the state alone and as a full snapshot followed by a delta.
fn restore(group: usize, state: &[u8]) {
    let files = [state.to_vec()];
    let twice = [state.to_vec(), state.to_vec()];
    let counts: StateStore<String, u64> = StateStore::new(DEFAULT_KEY_GROUPS, true);
    let _ = counts.restore_group(group, &files);
    let _ = counts.restore_group(group, &twice);
    let pairs: StateStore<(i64, String), Vec<(String, f64)>> = StateStore::new(8, false);
    let _ = pairs.restore_group(group % 8, &files);
    let opt: StateStore<u32, Option<String>> = StateStore::new(1, true);
    let _ = opt.restore_group(0, &files);
}
