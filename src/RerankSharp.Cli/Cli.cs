using System.CommandLine;
using System.Runtime.InteropServices;

namespace RerankSharp.Cli;

/// <summary>Runs a command body and turns failures into one line on standard error and an exit code.</summary>
internal static class Cli
{
    /// <summary>
    /// As <see cref="Run(ParseResult, Func{Task{int}})"/>, with Ctrl-C (SIGINT) and SIGTERM cancelling
    /// the token <paramref name="body"/> gets, so a run can stop cleanly: System.CommandLine 2.0.0
    /// handles neither unless ProcessTerminationTimeout is set (its default was dropped), and the
    /// process would otherwise die mid-write. A second Ctrl-C ends the process at once.
    /// </summary>
    public static async Task<int> Run(ParseResult result, CancellationToken ct, Func<CancellationToken, Task<int>> body)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        void OnSignal(PosixSignalContext context)
        {
            if (stop.IsCancellationRequested) return;   // the second one: default action, the process ends
            context.Cancel = true;
            stop.Cancel();
        }
        using var sigint = Register(PosixSignal.SIGINT, OnSignal);
        using var sigterm = Register(PosixSignal.SIGTERM, OnSignal);
        return await Run(result, () => body(stop.Token));
    }

    private static PosixSignalRegistration? Register(PosixSignal signal, Action<PosixSignalContext> handler)
    {
        try
        {
            return PosixSignalRegistration.Create(signal, handler);
        }
        catch (PlatformNotSupportedException)
        {
            return null;
        }
    }

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
            Console.Error.WriteLine($"error: {CliWording.Apply(e.Message)}");
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
        catch (OperationCanceledException e)
        {
            Console.Error.WriteLine(e is StoppedRunException ? $"error: cancelled; {e.Message}" : "error: cancelled");
            return 130;
        }
        catch (OutOfMemoryException e)
        {
            Console.Error.WriteLine("error: out of memory. Make batches smaller (--batch-size, --max-batch-tokens) or pairs shorter (--max-length), or free memory on this machine.");
            if (verbose) Console.Error.WriteLine(e);
            return 1;
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

/// <summary>A run stopped by Ctrl-C (or SIGTERM) after it wrote some results; the message says what was kept.</summary>
internal sealed class StoppedRunException(string message) : OperationCanceledException(message);
