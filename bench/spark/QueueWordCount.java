// Workload (a) on Apache Spark Streaming (DStreams, JVM): word count over a queue of
// pre-made batches read from the shared corpus file. Prints one "BATCH <index> <distinct>
// <total>" line per batch (for the cross-check) and a final "RESULT" line with the summed
// processing time of the batches (capacity = words / processing seconds).
//
// Usage: QueueWordCount <corpus-file> <batches> <lines-per-batch> <threads> <interval-ms>

import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.streaming.Durations;
import org.apache.spark.streaming.api.java.JavaDStream;
import org.apache.spark.streaming.api.java.JavaPairDStream;
import org.apache.spark.streaming.api.java.JavaStreamingContext;
import org.apache.spark.streaming.scheduler.StreamingListener;
import org.apache.spark.streaming.scheduler.StreamingListenerBatchCompleted;
import scala.Tuple2;

public class QueueWordCount {
  public static void main(String[] args) throws Exception {
    String file = args[0];
    int batches = Integer.parseInt(args[1]);
    int linesPerBatch = Integer.parseInt(args[2]);
    int threads = Integer.parseInt(args[3]);
    long intervalMs = Long.parseLong(args[4]);
    List<String> lines = Files.readAllLines(Paths.get(file));

    JavaStreamingContext ssc = SparkSetup.context("QueueWordCount", threads, Durations.milliseconds(intervalMs));

    Queue<JavaRDD<String>> queue = new LinkedList<>();
    for (int b = 0; b < batches; b++) {
      int start = (b * linesPerBatch) % (lines.size() - linesPerBatch + 1);
      queue.add(ssc.sparkContext().parallelize(
          new ArrayList<>(lines.subList(start, start + linesPerBatch)), threads));
    }
    AtomicLong processingMs = new AtomicLong();
    AtomicLong completed = new AtomicLong();
    long jvmStart = java.lang.management.ManagementFactory.getRuntimeMXBean().getStartTime();
    AtomicLong firstBatchMs = new AtomicLong(-1);
    ssc.addStreamingListener(new StreamingListener() {
      @Override
      public void onBatchCompleted(StreamingListenerBatchCompleted e) {
        Object d = e.batchInfo().processingDelay().get();
        // Only the workload's batches (empty ones may follow before the stop).
        if (completed.getAndIncrement() < batches) processingMs.addAndGet((Long) d);
        firstBatchMs.compareAndSet(-1, System.currentTimeMillis() - jvmStart);
      }
    });

    JavaDStream<String> stream = ssc.queueStream(queue, true);
    JavaPairDStream<String, Long> counts = stream
        .flatMap(l -> Arrays.asList(l.split(" ")).iterator())
        .mapToPair(w -> new Tuple2<>(w, 1L))
        .reduceByKey((a, b) -> a + b);
    ConcurrentLinkedQueue<String> results = new ConcurrentLinkedQueue<>();
    AtomicLong index = new AtomicLong();
    AtomicLong words = new AtomicLong();
    counts.foreachRDD(rdd -> {
      long[] r = rdd.map(t -> new long[] {1L, t._2()})
          .fold(new long[] {0L, 0L}, (a, b) -> new long[] {a[0] + b[0], a[1] + b[1]});
      words.addAndGet(r[1]);
      results.add("BATCH " + index.getAndIncrement() + " " + r[0] + " " + r[1]);
    });

    long t0 = System.nanoTime();
    ssc.start();
    SparkSetup.awaitBatches(ssc, completed, batches);
    long wallMs = (System.nanoTime() - t0) / 1_000_000;
    ssc.stop(true, false);
    for (String r : results) System.out.println(r);
    System.out.println("RESULT engine=spark-jvm batches=" + batches + " words=" + words.get()
        + " processing_ms=" + processingMs.get() + " wall_ms=" + wallMs
        + " first_batch_ms=" + firstBatchMs.get());
  }
}
