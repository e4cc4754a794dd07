// Workload (a) at large batches on Apache Spark Streaming (DStreams, JVM): word count over a
// queue of batches read from files, one file per batch (sc.textFile, read when the batch
// runs, so reading counts in its processing time). Prints one "BATCH <index> <distinct>
// <total>" line per batch and a final "RESULT" line with the summed processing time.
//
// Usage: FileQueueWordCount <directory> <threads> <interval-ms>

import java.io.File;
import java.util.Arrays;
import java.util.LinkedList;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.streaming.Durations;
import org.apache.spark.streaming.api.java.JavaPairDStream;
import org.apache.spark.streaming.api.java.JavaStreamingContext;
import org.apache.spark.streaming.scheduler.StreamingListener;
import org.apache.spark.streaming.scheduler.StreamingListenerBatchCompleted;
import scala.Tuple2;

public class FileQueueWordCount {
  public static void main(String[] args) throws Exception {
    File dir = new File(args[0]);
    int threads = Integer.parseInt(args[1]);
    long intervalMs = Long.parseLong(args[2]);
    File[] files = dir.listFiles(File::isFile);
    if (files == null) throw new IllegalArgumentException("not a directory: " + dir);
    Arrays.sort(files);
    int batches = files.length;

    JavaStreamingContext ssc = SparkSetup.context("FileQueueWordCount", threads, Durations.milliseconds(intervalMs));
    Queue<JavaRDD<String>> queue = new LinkedList<>();
    for (File f : files) queue.add(ssc.sparkContext().textFile(f.getPath(), threads));

    AtomicLong processingMs = new AtomicLong();
    AtomicLong completed = new AtomicLong();
    long jvmStart = java.lang.management.ManagementFactory.getRuntimeMXBean().getStartTime();
    AtomicLong firstBatchMs = new AtomicLong(-1);
    ssc.addStreamingListener(new StreamingListener() {
      @Override
      public void onBatchCompleted(StreamingListenerBatchCompleted e) {
        Object d = e.batchInfo().processingDelay().get();
        if (completed.getAndIncrement() < batches) processingMs.addAndGet((Long) d);
        firstBatchMs.compareAndSet(-1, System.currentTimeMillis() - jvmStart);
      }
    });

    JavaPairDStream<String, Long> counts = ssc.queueStream(queue, true)
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
