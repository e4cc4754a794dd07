// Workload (a) on Apache Flink (DataStream API, local execution): the same batches of lines as
// the other engines (batch b = lines [b·n, b·n + n) of the shared corpus, wrapping), counted
// per batch. Flink has no micro-batches, so the batch index is part of the key: words are
// counted per (batch, word) and then summed per batch, in Flink's BATCH execution mode over
// a bounded source (its fastest way to run a bounded job). Prints one "BATCH <index>
// <distinct> <total>" line per batch (for the cross-check; unordered) and a "RESULT" line
// whose processing time is the job's net runtime as Flink reports it.
//
// Usage: FlinkQueueWordCount <corpus-file> <batches> <lines-per-batch> <threads>

import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.Collector;

public class FlinkQueueWordCount {
  public static void main(String[] args) throws Exception {
    String file = args[0];
    int batches = Integer.parseInt(args[1]);
    int linesPerBatch = Integer.parseInt(args[2]);
    int threads = Integer.parseInt(args[3]);
    List<String> lines = Files.readAllLines(Paths.get(file));
    List<Tuple2<Integer, String>> input = new ArrayList<>();
    for (int b = 0; b < batches; b++) {
      int start = (b * linesPerBatch) % (lines.size() - linesPerBatch + 1);
      for (String l : lines.subList(start, start + linesPerBatch)) input.add(Tuple2.of(b, l));
    }
    long jvmStart = java.lang.management.ManagementFactory.getRuntimeMXBean().getStartTime();

    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.setParallelism(threads);
    env.setRuntimeMode(RuntimeExecutionMode.BATCH);
    env.fromData(input)
        .flatMap((Tuple2<Integer, String> t, Collector<Tuple3<Integer, String, Long>> out) -> {
          for (String w : t.f1.split(" ")) out.collect(Tuple3.of(t.f0, w, 1L));
        })
        .returns(Types.TUPLE(Types.INT, Types.STRING, Types.LONG))
        .keyBy(t -> t.f0 + " " + t.f1)
        .sum(2)
        .map(t -> Tuple3.of(t.f0, 1L, t.f2))
        .returns(Types.TUPLE(Types.INT, Types.LONG, Types.LONG))
        .keyBy(t -> t.f0)
        .reduce((a, b) -> Tuple3.of(a.f0, a.f1 + b.f1, a.f2 + b.f2))
        .map(t -> "BATCH " + t.f0 + " " + t.f1 + " " + t.f2)
        .setParallelism(1)
        .print()
        .setParallelism(1);
    JobExecutionResult r = env.execute("FlinkQueueWordCount");
    long words = 0;
    for (Tuple2<Integer, String> t : input) words += t.f1.split(" ").length;
    System.out.println("RESULT engine=flink batches=" + batches + " words=" + words
        + " processing_ms=" + r.getNetRuntime(TimeUnit.MILLISECONDS)
        + " wall_ms=" + (System.currentTimeMillis() - jvmStart)
        + " first_batch_ms=" + (System.currentTimeMillis() - jvmStart));
  }
}
