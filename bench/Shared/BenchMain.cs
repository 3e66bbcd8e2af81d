namespace EventMlOps.Bench;

/// <summary>The benchmarks' entry point: --help prints the usage, bad options print the reason and the usage and exit 2.</summary>
public static class BenchMain
{
    public static async Task<int> RunAsync<TOptions>(string[] args, string usage, Func<string[], TOptions> parse, Func<TOptions, Task<int>> run)
    {
        if (args.Contains("--help") || args.Contains("-h"))
        {
            Console.WriteLine(usage);
            return 0;
        }
        TOptions options;
        try
        {
            options = parse(args);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine(usage);
            return 2;
        }
        return await run(options);
    }
}
