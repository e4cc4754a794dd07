#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Errors keep their cause: `?` on an `io::Error` inside a task, and the job's error leads
//! back to it through `source()`.

use std::error::Error as _;

use sluice_core::{Context, Error};

#[derive(Debug)]
struct Poisoned(u32);

impl std::fmt::Display for Poisoned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "record {} is poisoned", self.0)
    }
}

impl std::error::Error for Poisoned {}

#[test]
fn a_failed_job_leads_back_to_the_tasks_error() {
    let ctx = Context::local(2).unwrap();
    let err = ctx
        .parallelize((0..10u32).collect::<Vec<_>>(), 2)
        .run_job(|chunks, _| {
            for chunk in chunks {
                if chunk?.contains(&7) {
                    return Err(Error::other(Poisoned(7)));
                }
            }
            Ok(())
        })
        .unwrap_err();
    assert!(matches!(err, Error::TaskFailed { .. }), "{err:?}");
    let task_error = err.source().expect("the last attempt's error");
    let poisoned = task_error
        .source()
        .and_then(|e| e.downcast_ref::<Poisoned>())
        .expect("the user's error");
    assert_eq!(poisoned.0, 7);
}

#[test]
fn question_mark_works_on_io_errors_in_user_functions() {
    let ctx = Context::local(1).unwrap();
    let err = ctx
        .parallelize(vec!["/no/such/file".to_string()], 1)
        .run_job(|chunks, _| {
            let mut out = Vec::new();
            for chunk in chunks {
                for path in chunk? {
                    out.push(std::fs::read_to_string(path)?);
                }
            }
            Ok(out)
        })
        .unwrap_err();
    let mut chain = Vec::new();
    let mut e: Option<&(dyn std::error::Error + 'static)> = Some(&err);
    while let Some(x) = e {
        chain.push(x);
        e = x.source();
    }
    let io = chain
        .iter()
        .find_map(|e| e.downcast_ref::<std::io::Error>())
        .expect("the io::Error is in the chain");
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
}
