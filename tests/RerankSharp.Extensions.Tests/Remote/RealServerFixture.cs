using Microsoft.AspNetCore.Builder;
using RerankSharp.Scoring;
using RerankSharp.Server;
using RerankSharp.Tests;

namespace RerankSharp.Extensions.Tests.Remote;

/// <summary>`rerank serve` as a real Kestrel on 127.0.0.1 serving tiny-a, and a separately loaded CrossEncoder of the same model.</summary>
public sealed class RealServerFixture : IAsyncLifetime
{
    public static readonly string ModelPath = FixturePaths.Model("tiny-a");

    private CrossEncoder _served = null!;
    private WebApplication _app = null!;

    public Uri Address { get; private set; } = null!;

    public CrossEncoder Reference { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _served = await CrossEncoder.LoadAsync(ModelPath);
        _app = RerankServerApplication.Create(_served, new RerankServerOptions(), new RerankHostOptions("127.0.0.1", 0, TimeSpan.FromSeconds(10)));
        await _app.StartAsync();
        Address = new Uri(RerankServerApplication.ListeningAddresses(_app).Single());
        Reference = await CrossEncoder.LoadAsync(ModelPath);
    }

    public async Task DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _served.Dispose();
        Reference.Dispose();
    }
}
