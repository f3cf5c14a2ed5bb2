using Microsoft.Extensions.Hosting;

namespace RerankSharp.Hosting;

/// <summary>
/// Starts loading the model when the host starts, so the first request does not pay for it; with
/// <see cref="RerankerSettings.WaitForModel"/> the host's start waits for the load and fails with it.
/// </summary>
internal sealed class RerankerStartup(HostedCrossEncoder encoder, bool waitForModel) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var load = encoder.Loaded;
        if (waitForModel) await load.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
