//! Sensor statistics from MQTT: readings `"<sensor> <value>"` published under a topic filter
//! (for example `grid/+/voltage`), averaged per sensor over a sliding window of 10 batches,
//! every batch. Malformed readings are counted, not fatal.
//!
//! ```text
//! cargo run -p sluice-connectors --features mqtt --example mqtt_sensor_stats -- \
//!     --broker 127.0.0.1:1883 --topic 'grid/+/voltage' [--qos 1] [--client-id ID] \
//!     [--batch-ms 1000] [--batches N]
//! ```
//!
//! Try it with Mosquitto: `mosquitto -p 1883` and
//! `mosquitto_pub -p 1883 -t grid/s1/voltage -m 's1 229.8'`.

mod common;

use sluice_connectors::mqtt::{mqtt_stream, Qos};
use sluice_core::{Conf, Context, Error, Result};
use sluice_streaming::{milliseconds, StreamingContext};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let broker = arg(&args, "--broker").unwrap_or_else(|| "127.0.0.1:1883".into());
    let (host, port) = broker
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
        .ok_or_else(|| Error::InvalidArgument(format!("--broker: not host:port: {broker}")))?;
    let topic = arg(&args, "--topic").unwrap_or_else(|| "sensors/#".into());
    let qos = match arg(&args, "--qos").as_deref() {
        None | Some("1") => Qos::AtLeastOnce,
        Some("0") => Qos::AtMostOnce,
        Some(q) => return Err(Error::InvalidArgument(format!("--qos: 0 or 1, got {q}"))),
    };
    let batch_ms: u64 = arg(&args, "--batch-ms")
        .map(|v| v.parse())
        .transpose()
        .map_err(|_| Error::InvalidArgument("--batch-ms: not a number".into()))?
        .unwrap_or(1000);
    let batches: Option<u64> = arg(&args, "--batches")
        .map(|v| v.parse())
        .transpose()
        .map_err(|_| Error::InvalidArgument("--batches: not a number".into()))?;

    let ctx = Context::new(
        Conf::new()
            .set_master("local[2]")
            .set_app_name("MqttSensorStats"),
    )?;
    let interval = milliseconds(batch_ms);
    let ssc = StreamingContext::new(&ctx, interval)?;
    let mut builder = mqtt_stream(&ssc).broker(host, port).subscribe(topic, qos);
    if let Some(id) = arg(&args, "--client-id") {
        builder = builder.client_id(id).clean_session(false);
    }
    let readings = builder.build_text()?;
    // (sensor, (sum, count)) per reading; a line that is not "<sensor> <number>" is dropped.
    let sums = readings.flat_map(|line: String| {
        let mut parts = line.split_whitespace();
        match (parts.next(), parts.next().map(str::parse::<f64>)) {
            (Some(sensor), Some(Ok(v))) => vec![(sensor.to_string(), (v, 1u64))],
            _ => Vec::new(),
        }
    });
    let window = sums.reduce_by_key_and_window(
        |a: (f64, u64), b: (f64, u64)| (a.0 + b.0, a.1 + b.1),
        interval * 10,
        interval,
    )?;
    window
        .map(|(sensor, (sum, n))| format!("{sensor}: mean {:.3} over {n}", sum / n as f64))
        .print(20)?;
    common::run(&ssc, interval, batches)?;
    for r in ssc.receivers() {
        if r.bad_records > 0 {
            eprintln!("{}: {} malformed message(s)", r.name, r.bad_records);
        }
    }
    Ok(())
}
