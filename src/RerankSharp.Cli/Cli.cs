using System.CommandLine;

namespace RerankSharp.Cli;

/// <summary>Runs a command body and turns failures into one line on standard error and an exit code.</summary>
internal static class Cli
{
    /// <summary>Exit codes: 0 success, 1 other failure, 2 model not found, 3 model invalid or unsupported, 4 bad input, 5 overloaded, 130 cancelled.</summary>
    public static async Task<int> Run(ParseResult result, Func<Task<int>> body)
    {
        var verbose = result.GetValue(CommonOptions.Verbose);
        try
        {
            return await body();
        }
        catch (RerankException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            if (verbose) Console.Error.WriteLine(e);
            return e.Kind switch
            {
                RerankErrorKind.ModelNotFound => 2,
                RerankErrorKind.InvalidModel or RerankErrorKind.UnsupportedModel => 3,
                RerankErrorKind.InvalidInput => 4,
                RerankErrorKind.Overloaded => 5,
                _ => 1,
            };
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("error: cancelled");
            return 130;
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            if (verbose) Console.Error.WriteLine(e);
            return 1;
        }
        catch (UnauthorizedAccessException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"error: unexpected {e.GetType().Name}: {e.Message} (this is a bug; rerun with --verbose and report it)");
            if (verbose) Console.Error.WriteLine(e);
            return 1;
        }
    }
}
