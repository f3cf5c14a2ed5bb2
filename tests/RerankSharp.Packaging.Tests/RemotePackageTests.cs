using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using RerankSharp.Scoring;
using RerankSharp.Tests;

namespace RerankSharp.Packaging.Tests;

/// <summary>
/// RerankSharp.Abstractions and RerankSharp.Remote as packages, and samples/RemoteRerankSample built against them: an
/// application that reranks through a server restores no ONNX Runtime and no engine.
/// </summary>
[Collection(PackagingCollection.Name)]
public class RemotePackageTests(PackagedBuilds builds)
{
    [Fact]
    public void The_contract_and_remote_packages_depend_on_no_onnx_runtime_and_the_engine_depends_on_the_contract()
    {
        var feed = builds.LibraryFeed;
        List<string> Dependencies(string id)
        {
            using var package = ZipFile.OpenRead(Path.Combine(feed, $"{id}.{builds.PackageVersion}.nupkg"));
            var nuspec = ToolPackageTests.Nuspec(package);
            return nuspec.Descendants(nuspec.Name.Namespace + "dependency").Select(d => d.Attribute("id")!.Value).ToList();
        }

        var contract = Dependencies("RerankSharp.Abstractions");
        var remote = Dependencies("RerankSharp.Remote");
        var engine = Dependencies("RerankSharp");

        Assert.DoesNotContain(contract, d => d.StartsWith("Microsoft.ML", StringComparison.Ordinal) || d.StartsWith("RerankSharp", StringComparison.Ordinal));
        Assert.Contains("RerankSharp.Abstractions", remote);
        Assert.DoesNotContain(remote, d => d.StartsWith("Microsoft.ML", StringComparison.Ordinal) || d == "RerankSharp");
        Assert.Contains("RerankSharp.Abstractions", engine);
        Assert.Contains("Microsoft.ML.OnnxRuntime", engine);
    }

    [Fact]
    public void A_remote_only_app_restores_no_onnx_runtime_package_and_ranks_through_a_server_as_the_engine_does()
    {
        var feed = builds.LibraryFeed;
        var project = builds.Temp("remote-sample");
        foreach (var file in Directory.GetFiles(RepositoryRoot.File("samples", "RemoteRerankSample")))
            File.Copy(file, Path.Combine(project, Path.GetFileName(file)));
        File.WriteAllText(Path.Combine(project, "NuGet.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{feed}" />
              </packageSources>
            </configuration>
            """);

        ExternalCommand.Run("dotnet", ["build", project, "-c", "Release", $"-p:RerankSharpVersion={builds.PackageVersion}",
            $"-p:RestorePackagesPath={builds.Temp("remote-sample-packages")}", $"-p:RestoreAdditionalProjectFallbackFolders={PackagedBuilds.GlobalPackages}"],
            project).EnsureSuccess();

        // The restore's own record of every package the app resolved, direct or transitive.
        var assets = JsonNode.Parse(File.ReadAllText(Path.Combine(project, "obj", "project.assets.json")))!;
        var packages = assets["libraries"]!.AsObject().Select(p => p.Key.Split('/')[0]).ToList();
        Assert.Contains("RerankSharp.Remote", packages);
        Assert.Contains("RerankSharp.Abstractions", packages);
        Assert.DoesNotContain(packages, p => p.StartsWith("Microsoft.ML.OnnxRuntime", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain("RerankSharp", packages);
        var output = Path.Combine(project, "bin", "Release", "net10.0");
        Assert.Empty(Directory.GetFiles(output, "*onnxruntime*", SearchOption.AllDirectories));

        // And it works: a stand-in TEI server on 127.0.0.1 answers with the engine's scores.
        using var encoder = CrossEncoder.Load(FixturePaths.Model("tiny-a"));
        using var server = new EngineBackedTeiServer(encoder);
        var run = ExternalCommand.Run("dotnet", [Path.Combine(output, "RemoteRerankSample.dll"), server.Address, "tei"], project).EnsureSuccess();

        var lines = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')).ToList();
        var expected = encoder.Rank("what is panda?", ["hi", "The giant panda (Ailuropoda melanoleuca), sometimes called a panda bear or simply panda, is a bear species endemic to China."]);
        Assert.Equal(expected.Select(r => (r.Score.ToString("R", CultureInfo.InvariantCulture), r.Index.ToString(CultureInfo.InvariantCulture))),
            lines.Select(l => (l[0], l[1])));
    }

    /// <summary>TEI's <c>POST /rerank</c> on a free loopback port, scored by <paramref name="encoder"/> in this process.</summary>
    private sealed class EngineBackedTeiServer : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly Task _loop;

        public EngineBackedTeiServer(CrossEncoder encoder)
        {
            var port = FreePort();
            Address = $"http://127.0.0.1:{port}/";
            _listener.Prefixes.Add(Address);
            _listener.Start();
            _loop = Task.Run(async () =>
            {
                while (_listener.IsListening)
                {
                    HttpListenerContext context;
                    try { context = await _listener.GetContextAsync(); }
                    catch (Exception) when (!_listener.IsListening) { return; }
                    var body = JsonNode.Parse(context.Request.InputStream)!;
                    var texts = body["texts"]!.AsArray().Select(t => t!.GetValue<string>()).ToList();
                    var scores = await encoder.ScoreDocumentsAsync(body["query"]!.GetValue<string>(), texts);
                    var reply = new JsonArray(scores.Scores.Select((s, i) => (JsonNode)new JsonObject { ["index"] = i, ["score"] = s }).ToArray());
                    var bytes = Encoding.UTF8.GetBytes(reply.ToJsonString(new JsonSerializerOptions()));
                    context.Response.ContentType = "application/json";
                    await context.Response.OutputStream.WriteAsync(bytes);
                    context.Response.Close();
                }
            });
        }

        public string Address { get; }

        public void Dispose()
        {
            _listener.Stop();
            _loop.Wait(TimeSpan.FromSeconds(5));
            _listener.Close();
        }

        private static int FreePort()
        {
            using var socket = new TcpListener(IPAddress.Loopback, 0);
            socket.Start();
            return ((IPEndPoint)socket.LocalEndpoint).Port;
        }
    }
}
