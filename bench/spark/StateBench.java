// Workload (d) on Apache Spark Streaming: keyed state with many keys. Batch b holds records
// i in [b*U, (b+1)*U) with key (i * 2654435761) mod K and value 1, starting from an initial
// state of K keys at 0. Mode "update" uses updateStateByKey, "map" uses mapWithState. Prints
// "STATE <batch> <keys> <sum>" after each batch (the cross-check) and a RESULT line with the
// median processing time per batch (first batch excluded) and the time from JVM start to the
// first completed batch.
//
// Usage: StateBench <update|map> <keys> <updates-per-batch> <batches> <threads> <checkpoint-dir>

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.Optional;
import org.apache.spark.streaming.Durations;
import org.apache.spark.streaming.State;
import org.apache.spark.streaming.StateSpec;
import org.apache.spark.streaming.api.java.JavaPairDStream;
import org.apache.spark.streaming.api.java.JavaStreamingContext;
import org.apache.spark.streaming.scheduler.StreamingListener;
import org.apache.spark.streaming.scheduler.StreamingListenerBatchCompleted;
import scala.Tuple2;

public class StateBench {
  public static void main(String[] args) throws Exception {
    String mode = args[0];
    long keys = Long.parseLong(args[1]);
    long updates = Long.parseLong(args[2]);
    int batches = Integer.parseInt(args[3]);
    int threads = Integer.parseInt(args[4]);
    JavaStreamingContext ssc = SparkSetup.context("StateBench", threads, Durations.seconds(1));
    ssc.checkpoint(args[5]);

    Queue<JavaRDD<Long>> queue = SparkSetup.indexBatches(ssc, batches, updates, threads);
    List<Long> all = new ArrayList<>();
    for (long k = 0; k < keys; k++) all.add(k);
    JavaPairRDD<Long, Long> initial = ssc.sparkContext().parallelize(all, threads)
        .mapToPair(k -> new Tuple2<>(k, 0L));

    final long K = keys;
    JavaPairDStream<Long, Long> records = ssc.queueStream(queue, true)
        .mapToPair(i -> new Tuple2<>((i * 2654435761L) % K, 1L));
    JavaPairDStream<Long, Long> state;
    if (mode.equals("update")) {
      state = records.updateStateByKey((List<Long> vs, Optional<Long> s) -> {
        long n = s.isPresent() ? s.get() : 0L;
        for (Long v : vs) n += v;
        return Optional.of(n);
      }, new org.apache.spark.HashPartitioner(threads), initial);
    } else {
      StateSpec<Long, Long, Long, Long> spec = StateSpec.function(
          (Long k, Optional<Long> v, State<Long> s) -> {
            long n = (s.exists() ? s.get() : 0L) + (v.isPresent() ? v.get() : 0L);
            s.update(n);
            return n;
          }).initialState(initial).numPartitions(threads);
      state = records.mapWithState(spec).stateSnapshots();
    }
    ConcurrentLinkedQueue<String> results = new ConcurrentLinkedQueue<>();
    AtomicLong index = new AtomicLong();
    state.foreachRDD(rdd -> {
      long[] r = rdd.map(t -> new long[] {1L, t._2()})
          .fold(new long[] {0L, 0L}, (a, b) -> new long[] {a[0] + b[0], a[1] + b[1]});
      results.add("STATE " + index.getAndIncrement() + " " + r[0] + " " + r[1]);
    });
    List<Long> delays = Collections.synchronizedList(new ArrayList<>());
    AtomicLong completed = new AtomicLong();
    long jvmStart = java.lang.management.ManagementFactory.getRuntimeMXBean().getStartTime();
    AtomicLong firstBatchMs = new AtomicLong(-1);
    ssc.addStreamingListener(new StreamingListener() {
      @Override
      public void onBatchCompleted(StreamingListenerBatchCompleted e) {
        delays.add((Long) e.batchInfo().processingDelay().get());
        firstBatchMs.compareAndSet(-1, System.currentTimeMillis() - jvmStart);
        completed.incrementAndGet();
      }
    });
    ssc.start();
    SparkSetup.awaitBatches(ssc, completed, batches);
    ssc.stop(true, false);
    for (String r : results) System.out.println(r);
    List<Long> d = new ArrayList<>(delays.subList(1, delays.size()));
    Collections.sort(d);
    System.out.println("RESULT engine=spark-jvm mode=" + mode + " median_batch_ms=" + d.get(d.size() / 2)
        + " first_batch_ms=" + firstBatchMs.get());
  }
}
