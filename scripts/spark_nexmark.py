"""The Spark side of the Nexmark comparison (#15): one query with Spark's
DStream API (PySpark) on the batch files of `nexmark_export`.

Usage: python3 scripts/spark_nexmark.py DIR q0|q1|q2|q5|q7

Batch N reads DIR/batch-NNNNNN.tsv (the events of event-time second N), as
the Rust side (`nexmark_files`) does: a queueStream of one text-file RDD per
batch (2 partitions), `local[2]`, 1 s batches, then 10 empty batches so that
windows empty. The figure is the sum of Spark's processing time over every
batch (from the batch's StreamingListener), so the idle part of each 1 s
interval is not counted. Prints
`RESULT <query> <events> <seconds of batch processing> <results>`.

q5's and q7's arg-max (the hot auctions, the highest bids) runs in the
output operation: an action inside `transform` would run while Spark
generates the batch's jobs, outside the measured processing time.
"""

import glob
import os
import sys
import threading

from pyspark import SparkConf, SparkContext
from pyspark.streaming import StreamingContext
from pyspark.streaming.listener import StreamingListener

Q1_RATE = 0.908
Q2_MODULUS = 123
WINDOW, SLIDE, TUMBLE = 10, 2, 10
DRAIN = 10


class Timing(StreamingListener):
    """Sums the processing time of completed batches."""

    def __init__(self):
        super().__init__()
        self.done = 0
        self.processing_ms = 0
        self.cv = threading.Condition()

    def onBatchCompleted(self, batchCompleted):
        info = batchCompleted.batchInfo()
        delay = info.processingDelay()
        with self.cv:
            self.processing_ms += max(delay, 0)
            self.done += 1
            self.cv.notify_all()


def bids(lines):
    """(auction, bidder, price, channel, url, date_time, extra) of the bid lines."""
    return lines.map(lambda l: l.split("\t")).filter(lambda f: f[0] == "B").map(
        lambda f: (int(f[1]), int(f[2]), int(f[3]), f[4], f[5], int(f[6]), f[7])
    )


def main():
    directory, query = sys.argv[1], sys.argv[2]
    files = sorted(glob.glob(os.path.join(directory, "batch-*.tsv")))
    events = 0
    for path in files:
        with open(path, "rb") as f:
            events += sum(1 for _ in f)

    conf = SparkConf().setMaster("local[2]").setAppName("nexmark-" + query)
    conf.set("spark.ui.enabled", "false")
    conf.set("spark.ui.showConsoleProgress", "false")
    sc = SparkContext(conf=conf)
    sc.setLogLevel("WARN")
    ssc = StreamingContext(sc, 1)
    timing = Timing()
    ssc.addStreamingListener(timing)
    results = [0]

    def count(rdd):
        results[0] += rdd.count()

    rdds = [sc.textFile(p, minPartitions=2) for p in files]
    lines = ssc.queueStream(rdds, oneAtATime=True, default=sc.emptyRDD())
    b = bids(lines)
    if query == "q0":
        b.foreachRDD(count)
    elif query == "q1":
        b.map(lambda x: (x[0], x[1], Q1_RATE * x[2], x[5])).foreachRDD(count)
    elif query == "q2":
        b.filter(lambda x: x[0] % Q2_MODULUS == 0).map(lambda x: (x[0], x[2])).foreachRDD(count)
    elif query == "q5":

        def hot(rdd):
            counts = rdd.collect()
            if counts:
                top = max(n for _, n in counts)
                results[0] += sum(1 for _, n in counts if n == top)

        b.map(lambda x: (x[0], 1)).reduceByKeyAndWindow(
            lambda x, y: x + y, None, WINDOW, SLIDE
        ).foreachRDD(hot)
    elif query == "q7":

        def highest(rdd):
            if not rdd.isEmpty():
                top = rdd.map(lambda r: r[1]).max()
                results[0] += rdd.filter(lambda r: r[1] == top).count()

        b.map(lambda x: (x[0], x[2], x[1], x[5])).window(TUMBLE, TUMBLE).foreachRDD(highest)
    else:
        raise SystemExit("unknown query " + query)

    total = len(files) + DRAIN
    ssc.start()
    with timing.cv:
        while timing.done < total:
            timing.cv.wait(1.0)
        seconds = timing.processing_ms / 1000.0
    ssc.stop(stopSparkContext=True, stopGraceFully=False)
    print("RESULT %s %d %.3f %d" % (query, events, seconds, results[0]))


if __name__ == "__main__":
    main()
