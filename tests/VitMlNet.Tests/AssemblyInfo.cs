// libtorch's default generator (dropout, initialization) is process-wide, and both cores are needed by each
// training test: running test classes in parallel would make seeded runs interfere.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
