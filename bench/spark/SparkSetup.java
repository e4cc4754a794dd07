// Shared set-up of the Spark benchmark programs: a local streaming context bound to the
// loopback address, without the web UI, with quiet logs.

import org.apache.spark.SparkConf;
import org.apache.spark.streaming.Duration;
import org.apache.spark.streaming.api.java.JavaStreamingContext;

final class SparkSetup {
  private SparkSetup() {}

  /** A context; `extra` holds further settings as key, value, key, value, ... */
  static JavaStreamingContext context(String app, int threads, Duration batch, String... extra) {
    SparkConf conf = new SparkConf()
        .setMaster("local[" + threads + "]")
        .setAppName(app)
        .set("spark.ui.enabled", "false")
        .set("spark.driver.host", "127.0.0.1")
        .set("spark.driver.bindAddress", "127.0.0.1")
        .set("spark.default.parallelism", String.valueOf(threads));
    for (int i = 0; i + 1 < extra.length; i += 2) conf.set(extra[i], extra[i + 1]);
    JavaStreamingContext ssc = new JavaStreamingContext(conf, batch);
    ssc.sparkContext().setLogLevel("ERROR");
    return ssc;
  }

  /**
   * The generated workloads' input: batch b holds the indices [b * perBatch, (b + 1) *
   * perBatch), in `threads` partitions.
   */
  static java.util.Queue<org.apache.spark.api.java.JavaRDD<Long>> indexBatches(
      JavaStreamingContext ssc, int batches, long perBatch, int threads) {
    java.util.Queue<org.apache.spark.api.java.JavaRDD<Long>> queue = new java.util.LinkedList<>();
    for (int b = 0; b < batches; b++) {
      java.util.List<Long> idx = new java.util.ArrayList<>();
      for (long i = b * perBatch; i < (b + 1) * perBatch; i++) idx.add(i);
      queue.add(ssc.sparkContext().parallelize(idx, threads));
    }
    return queue;
  }

  /** Waits until `done` batches completed, at most five minutes. */
  static void awaitBatches(JavaStreamingContext ssc, java.util.concurrent.atomic.AtomicLong done,
      long batches) throws InterruptedException {
    long deadline = System.currentTimeMillis() + 300_000;
    while (done.get() < batches && System.currentTimeMillis() < deadline) {
      ssc.awaitTerminationOrTimeout(20);
    }
  }
}
