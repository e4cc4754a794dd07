# The PySpark program of the article Sluice started from, with its imports changed to Sluice
# and the output operation it lacks (`wordCounts.pprint()`) added. Feed it lines with
# `nc -lk 1234` in another terminal; Ctrl-C stops it gracefully.
from sluice import SparkConf, SparkContext
from sluice.streaming import StreamingContext

# 设置Spark配置和Context
conf = SparkConf().setAppName("MySparkStreaming").setMaster("local")
sc = SparkContext(conf=conf)
ssc = StreamingContext(sc, batchDuration=1)

# 定义数据源
dataStream = ssc.socketTextStream("localhost", 1234)

# 转换操作
words = dataStream.flatMap(lambda line: line.split(" "))
wordCounts = words.countByValue()
wordCounts.pprint()

# 动作操作
ssc.start()
ssc.awaitTermination()
