// The sample draws its progress with Spectre.Console, which allows one live display per process: tests that run the
// sample in this process must take turns.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
