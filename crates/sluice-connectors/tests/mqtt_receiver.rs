#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The MQTT receiver against a real Mosquitto broker (started by each test on a free loopback
//! port; `SLUICE_MOSQUITTO` names the binary, which `scripts/install-mosquitto.sh` installs),
//! with Mosquitto's own `mosquitto_pub` as the publisher. Batches run on a manual clock.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use sluice_connectors::mqtt::{mqtt_stream, MqttMessage, Qos};
use sluice_core::{Conf, Context};
use sluice_streaming::clock::ManualClock;
use sluice_streaming::{seconds, DStream, StopMode, StreamingContext, Time};

const NEEDS: &str =
    "needs Mosquitto (SLUICE_MOSQUITTO); scripts/test.sh installs it and runs these";

/// A Mosquitto broker on 127.0.0.1, stopped when dropped.
struct Broker {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Broker {
    fn start() -> Broker {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Broker::start_on(port)
    }

    fn start_on(port: u16) -> Broker {
        let bin = std::env::var("SLUICE_MOSQUITTO")
            .unwrap_or_else(|_| panic!("set SLUICE_MOSQUITTO to the mosquitto binary ({NEEDS})"));
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"),
        )
        .unwrap();
        let child = Command::new(bin)
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "mosquitto did not start on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Broker {
            child,
            port,
            _dir: dir,
        }
    }

    /// Publishes each of `messages` (one message each) to `topic` with `mosquitto_pub`.
    fn publish(&self, topic: &str, qos: u8, messages: &[&[u8]]) {
        for chunk in messages.chunks(500) {
            // Lines mode (-l) sends each line as a message; messages with a newline or
            // binary bytes go one by one from a file.
            if chunk.iter().all(|m| !m.is_empty() && !m.contains(&b'\n')) {
                let mut p = self
                    .pub_command(topic, qos)
                    .arg("-l")
                    .stdin(Stdio::piped())
                    .spawn()
                    .unwrap();
                let mut input = p.stdin.take().unwrap();
                for m in chunk {
                    input.write_all(m).unwrap();
                    input.write_all(b"\n").unwrap();
                }
                drop(input);
                assert!(p.wait().unwrap().success(), "mosquitto_pub failed");
            } else {
                for m in chunk {
                    let file = self._dir.path().join("message");
                    std::fs::write(&file, m).unwrap();
                    let ok = self
                        .pub_command(topic, qos)
                        .arg("-f")
                        .arg(&file)
                        .status()
                        .unwrap();
                    assert!(ok.success(), "mosquitto_pub failed");
                }
            }
        }
    }

    fn pub_command(&self, topic: &str, qos: u8) -> Command {
        let mut c =
            Command::new(std::env::var("SLUICE_MOSQUITTO_PUB").unwrap_or("mosquitto_pub".into()));
        c.args([
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-t",
            topic,
            "-q",
            &qos.to_string(),
        ]);
        c
    }

    fn kill(mut self) -> u16 {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.port
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Job {
    ssc: StreamingContext,
    clock: Arc<ManualClock>,
    next: i64,
}

impl Job {
    fn new(conf: Conf) -> Job {
        let ctx = Context::new(conf.set_master("local[2]")).unwrap();
        let clock = ManualClock::shared(0);
        let ssc = StreamingContext::with_clock(&ctx, seconds(1), clock.clone()).unwrap();
        Job {
            ssc,
            clock,
            next: 1000,
        }
    }

    fn run_batch(&mut self) {
        self.clock.advance(Duration::from_secs(1));
        assert!(self
            .ssc
            .await_batch(Time::from_millis(self.next), Duration::from_secs(30))
            .unwrap());
        self.next += 1000;
    }

    /// Runs batches until `done()` holds (at most 60 s).
    fn run_until(&mut self, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !done() {
            assert!(Instant::now() < deadline, "condition not reached in 60 s");
            self.run_batch();
        }
    }

    /// Publishes `probe` until the stream has stored something, so the subscription is in
    /// place; returns how many probes were stored.
    fn wait_subscribed(&mut self, broker: &Broker, topic: &str) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            broker.publish(topic, 1, &[b"probe"]);
            let stored: u64 = self.ssc.receivers().iter().map(|r| r.records_stored).sum();
            if stored > 0 {
                return stored;
            }
            assert!(Instant::now() < deadline, "the receiver never subscribed");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn collect<T: sluice_core::Data>(s: &DStream<T>) -> Arc<Mutex<Vec<T>>> {
    let out = Arc::new(Mutex::new(Vec::new()));
    let o = Arc::clone(&out);
    s.foreach_rdd(move |rdd, _| {
        o.lock().extend(rdd.collect()?);
        Ok(())
    })
    .unwrap();
    out
}

#[ignore = "needs Mosquitto (SLUICE_MOSQUITTO); scripts/test.sh installs it and runs these"]
#[test]
fn messages_arrive_in_order_with_their_topic_and_qos() {
    let broker = Broker::start();
    let mut job = Job::new(Conf::new());
    let stream = mqtt_stream(&job.ssc)
        .broker("127.0.0.1", broker.port)
        .subscribe("plant/+/temp", Qos::AtLeastOnce)
        .subscribe("plant/probe", Qos::AtMostOnce)
        .build()
        .unwrap();
    let seen = collect(&stream);
    job.ssc.start().unwrap();
    job.wait_subscribed(&broker, "plant/probe");
    let readings: Vec<Vec<u8>> = (0..2000).map(|i| format!("r{i}").into_bytes()).collect();
    let refs: Vec<&[u8]> = readings.iter().map(Vec::as_slice).collect();
    broker.publish("plant/a/temp", 1, &refs);
    broker.publish("plant/b/humidity", 1, &[b"not subscribed"]);
    job.run_until(|| {
        seen.lock()
            .iter()
            .filter(|m| m.topic == "plant/a/temp")
            .count()
            >= 2000
    });
    job.run_batch();
    job.ssc.stop(StopMode::Immediate).unwrap();
    let seen = seen.lock();
    let temps: Vec<&MqttMessage> = seen.iter().filter(|m| m.topic == "plant/a/temp").collect();
    // Every reading once, in the order published (one publisher, one connection).
    assert_eq!(
        temps.iter().map(|m| m.payload.clone()).collect::<Vec<_>>(),
        readings
    );
    assert!(temps.iter().all(|m| m.qos == Qos::AtLeastOnce && !m.retain));
    assert!(seen.iter().all(|m| m.topic != "plant/b/humidity"));
}

#[ignore = "needs Mosquitto (SLUICE_MOSQUITTO); scripts/test.sh installs it and runs these"]
#[test]
fn a_restarted_broker_is_reconnected_to_and_the_loss_reported() {
    let broker = Broker::start();
    let mut job = Job::new(Conf::new());
    let stream = mqtt_stream(&job.ssc)
        .broker("127.0.0.1", broker.port)
        .subscribe("line/#", Qos::AtLeastOnce)
        .build_text()
        .unwrap();
    let seen = collect(&stream);
    job.ssc.start().unwrap();
    job.wait_subscribed(&broker, "line/probe");
    broker.publish("line/1", 1, &[b"before"]);
    job.run_until(|| seen.lock().iter().any(|l| l == "before"));

    let port = broker.kill();
    // The receiver notices and reports it.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !job.ssc.receivers().iter().any(|r| {
        r.last_error
            .as_deref()
            .is_some_and(|e| e.contains("MQTT connection"))
    }) {
        assert!(
            Instant::now() < deadline,
            "the lost connection was not reported"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let broker = Broker::start_on(port);
    // The broker forgot the session (clean session): the receiver subscribes again.
    job.wait_subscribed(&broker, "line/probe");
    broker.publish("line/2", 1, &[b"after"]);
    job.run_until(|| seen.lock().iter().any(|l| l == "after"));
    job.ssc.stop(StopMode::Immediate).unwrap();
    let seen = seen.lock();
    assert_eq!(seen.iter().filter(|l| *l == "before").count(), 1);
    assert_eq!(seen.iter().filter(|l| *l == "after").count(), 1);
}

#[ignore = "needs Mosquitto (SLUICE_MOSQUITTO); scripts/test.sh installs it and runs these"]
#[test]
fn malformed_and_oversized_messages_are_counted_not_stored() {
    let broker = Broker::start();
    let mut job = Job::new(Conf::new().set("sluice.streaming.receiver.maxLineBytes", "1k"));
    let stream = mqtt_stream(&job.ssc)
        .broker("127.0.0.1", broker.port)
        .subscribe("in", Qos::AtLeastOnce)
        .build_text()
        .unwrap();
    let seen = collect(&stream);
    job.ssc.start().unwrap();
    let probes = job.wait_subscribed(&broker, "in");
    let big = vec![b'x'; 4096];
    broker.publish("in", 1, &[b"good 1", b"\xff\xfe not text", &big, b"good 2"]);
    job.run_until(|| seen.lock().iter().any(|l| l == "good 2"));
    job.ssc.stop(StopMode::Immediate).unwrap();
    let r = &job.ssc.receivers()[0];
    assert_eq!(r.bad_records, 2, "{r:?}");
    let goods: Vec<String> = seen
        .lock()
        .iter()
        .filter(|l| l.starts_with("good"))
        .cloned()
        .collect();
    assert_eq!(goods, vec!["good 1", "good 2"]);
    // Nothing else but the probes was stored.
    assert!(seen
        .lock()
        .iter()
        .all(|l| l.starts_with("good") || l == "probe"));
    assert!(probes >= 1);
}

#[ignore = "needs Mosquitto (SLUICE_MOSQUITTO); scripts/test.sh installs it and runs these"]
#[test]
fn a_slow_job_bounds_what_the_receiver_holds() {
    let broker = Broker::start();
    let mut job = Job::new(Conf::new().set("sluice.streaming.receiver.maxBufferedRecords", "100"));
    let stream = mqtt_stream(&job.ssc)
        .broker("127.0.0.1", broker.port)
        .subscribe("flood", Qos::AtLeastOnce)
        .build_text()
        .unwrap();
    let seen = collect(&stream);
    job.ssc.start().unwrap();
    let probes = job.wait_subscribed(&broker, "flood");
    let flood: Vec<Vec<u8>> = (0..1000).map(|i| format!("m{i}").into_bytes()).collect();
    let refs: Vec<&[u8]> = flood.iter().map(Vec::as_slice).collect();
    broker.publish("flood", 1, &refs);
    // No batch runs: the receiver holds at most its buffer (100, probes included) and one
    // group being stored (at most 512; a group that does not fit waits whole), while the
    // broker holds the rest (mosquitto_pub returned once the broker had all 1000). Watched
    // for half a second once the flood began to arrive: an unbounded receiver takes all
    // 1000 in a fraction of that.
    let stored = || job.ssc.receivers()[0].records_stored;
    let deadline = Instant::now() + Duration::from_secs(30);
    while stored() <= probes {
        assert!(
            Instant::now() < deadline,
            "the receiver stored only {}",
            stored()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let watch = Instant::now();
    while watch.elapsed() < Duration::from_millis(500) {
        assert!(stored() <= 100 + 512, "held {}", stored());
        std::thread::sleep(Duration::from_millis(5));
    }
    // Batches drain it, and every message arrives, in order.
    job.run_until(|| seen.lock().iter().filter(|l| l.starts_with('m')).count() >= 1000);
    job.ssc.stop(StopMode::Immediate).unwrap();
    let got: Vec<String> = seen
        .lock()
        .iter()
        .filter(|l| l.starts_with('m'))
        .cloned()
        .collect();
    let want: Vec<String> = (0..1000).map(|i| format!("m{i}")).collect();
    assert_eq!(got, want);
}

#[test]
fn bad_settings_are_refused_before_start() {
    let job = Job::new(Conf::new());
    let err = |b: sluice_connectors::mqtt::MqttStreamBuilder| b.build().unwrap_err().to_string();
    assert!(err(mqtt_stream(&job.ssc).subscribe("a", Qos::AtMostOnce)).contains("broker"));
    assert!(err(mqtt_stream(&job.ssc).broker("h", 1)).contains("topic filter"));
    assert!(err(mqtt_stream(&job.ssc)
        .broker("h", 1)
        .subscribe("a/#/b", Qos::AtMostOnce))
    .contains("not an MQTT topic filter"));
    assert!(err(mqtt_stream(&job.ssc)
        .broker("h", 1)
        .subscribe("a", Qos::AtMostOnce)
        .keep_alive(Duration::from_secs(1)))
    .contains("keep-alive"));
}
