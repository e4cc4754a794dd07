"""``StorageLevel``: where persisted partitions are kept."""


class StorageLevel:
    """A storage level; Sluice keeps memory levels as objects and pickles for disk levels."""

    def __init__(self, useDisk: bool, useMemory: bool, useOffHeap: bool = False,
                 deserialized: bool = True, replication: int = 1) -> None:
        self.useDisk = useDisk
        self.useMemory = useMemory
        self.useOffHeap = useOffHeap
        self.deserialized = deserialized
        self.replication = replication

    def _native_name(self) -> str:
        if self.useMemory and self.useDisk:
            return "MEMORY_AND_DISK"
        if self.useDisk:
            return "DISK_ONLY"
        return "MEMORY_ONLY"

    def __repr__(self) -> str:
        return "StorageLevel(%s, %s, %s, %s, %s)" % (
            self.useDisk, self.useMemory, self.useOffHeap, self.deserialized, self.replication)

    def __eq__(self, other) -> bool:
        return isinstance(other, StorageLevel) and repr(self) == repr(other)

    def __hash__(self) -> int:
        return hash(repr(self))


StorageLevel.DISK_ONLY = StorageLevel(True, False, False, False)
StorageLevel.DISK_ONLY_2 = StorageLevel(True, False, False, False, 2)
StorageLevel.MEMORY_ONLY = StorageLevel(False, True, False, False)
StorageLevel.MEMORY_ONLY_2 = StorageLevel(False, True, False, False, 2)
StorageLevel.MEMORY_AND_DISK = StorageLevel(True, True, False, False)
StorageLevel.MEMORY_AND_DISK_2 = StorageLevel(True, True, False, False, 2)
