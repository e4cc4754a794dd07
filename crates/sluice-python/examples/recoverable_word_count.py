"""A recoverable streaming word count from Python: counts the words of new files in a
directory, keeps the totals with ``updateStateByKey``, writes them every batch with
``saveAsTextFiles``, and checkpoints. Killed at any moment (``kill -9``) and started again
with the same arguments, it continues from its checkpoint through
``StreamingContext.getOrCreate``, and its output ends up the same as if it had never stopped.

    python recoverable_word_count.py <input-dir> <checkpoint-dir> <output-prefix> <batches> [--step]

``--step`` runs the batches back to back on a step clock that starts at 0 (batch ``k`` at
``k`` seconds, reading the files modified up to then) instead of on the wall clock. The job
stops once its batch ``<batches>`` (counted from its first run's first batch) is done.
"""

import sys

from sluice import SparkConf, SparkContext
from sluice.streaming import StreamingContext


def main(argv):
    if len(argv) < 5:
        print(__doc__, file=sys.stderr)
        return 2
    input_dir, checkpoint, prefix, batches = argv[1], argv[2], argv[3], int(argv[4])
    conf = SparkConf().setMaster("local[2]").setAppName("RecoverableWordCount")
    if "--step" in argv:
        conf.set("sluice.streaming.clock", "step")
    sc = SparkContext(conf=conf)

    def setup():
        ssc = StreamingContext(sc, 1)
        totals = (ssc.textFileStream(input_dir)
                  .flatMap(lambda line: line.split())
                  .map(lambda word: (word, 1))
                  .updateStateByKey(lambda new, total: (total or 0) + sum(new)))
        totals.checkpoint(2)
        totals.saveAsTextFiles(prefix)
        return ssc

    ssc = StreamingContext.getOrCreate(checkpoint, setup)
    if ssc.recoveredFrom() is not None:
        print("restarting after batch %s" % ssc.recoveredFrom(), file=sys.stderr, flush=True)
    ssc.runBatches(batches)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
