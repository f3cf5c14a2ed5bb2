using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace RerankSharp.Packaging.Tests;

/// <summary>A <c>rerank serve</c> process on this machine, waited for until it says it listens; stopped with SIGTERM.</summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _stderr = [];
    private readonly Task _stderrReader;

    private ServerProcess(Process process, int port, List<string> firstLines, Task reader)
    {
        _process = process;
        _stderr = firstLines;
        _stderrReader = reader;
        Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };
    }

    public HttpClient Client { get; }

    /// <summary>Standard error so far.</summary>
    public IReadOnlyList<string> Stderr { get { lock (_stderr) return _stderr.ToList(); } }

    /// <summary>A TCP port free on every interface right now (the server binds it moments later).</summary>
    public static int FreePort()
    {
        var probe = new TcpListener(IPAddress.Any, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    public static async Task<ServerProcess> StartAsync(string fileName, IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string?> environment, int port)
    {
        var info = ExternalCommand.StartInfo(fileName, arguments, null, environment);
        info.RedirectStandardInput = true;
        var process = Process.Start(info)!;
        process.StandardInput.Close();
        var lines = new List<string>();
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reader = Task.Run(async () =>
        {
            while (await process.StandardError.ReadLineAsync() is { } line)
            {
                lock (lines) lines.Add(line);
                if (line.StartsWith("rerank: serving", StringComparison.Ordinal)) listening.TrySetResult();
            }
            listening.TrySetResult();
        });
        _ = process.StandardOutput.ReadToEndAsync();
        var server = new ServerProcess(process, port, lines, reader);
        try
        {
            await listening.Task.WaitAsync(TimeSpan.FromSeconds(120));
        }
        catch (TimeoutException)
        {
            await server.DisposeAsync();
            throw new TimeoutException($"rerank serve did not listen within 120 s; stderr:\n{string.Join('\n', server.Stderr)}");
        }
        if (process.HasExited)
            throw new InvalidOperationException($"rerank serve exited with {process.ExitCode}; stderr:\n{string.Join('\n', server.Stderr)}");
        return server;
    }

    /// <summary>SIGTERM, as <c>docker stop</c> and Kubernetes send it; returns the exit code.</summary>
    public async Task<int> StopAsync()
    {
        Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(40));
        await _stderrReader.WaitAsync(TimeSpan.FromSeconds(5));
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
