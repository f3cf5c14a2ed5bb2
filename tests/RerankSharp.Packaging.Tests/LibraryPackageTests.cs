using System.Globalization;
using System.IO.Compression;
using RerankSharp.Scoring;
using RerankSharp.Tests;

namespace RerankSharp.Packaging.Tests;

/// <summary>The RerankSharp NuGet package, and samples/RerankSharp.Sample built against it from a local feed.</summary>
[Collection(PackagingCollection.Name)]
public class LibraryPackageTests(PackagedBuilds builds)
{
    [Fact]
    public void Carries_readme_license_repository_xml_docs_symbols_and_only_the_runtime_dependencies()
    {
        var feed = builds.LibraryFeed;

        using var package = ZipFile.OpenRead(Path.Combine(feed, $"RerankSharp.{builds.PackageVersion}.nupkg"));
        using var symbols = ZipFile.OpenRead(Path.Combine(feed, $"RerankSharp.{builds.PackageVersion}.snupkg"));

        var nuspec = ToolPackageTests.Nuspec(package);
        var ns = nuspec.Name.Namespace;
        string Field(string name) => nuspec.Descendants(ns + name).Single().Value;
        Assert.Equal("RerankSharp", Field("id"));
        Assert.Equal("MIT", Field("license"));
        Assert.Equal("README.md", Field("readme"));
        Assert.Equal("https://github.com/reranksharp/reranksharp", Field("projectUrl"));
        Assert.Equal("https://github.com/reranksharp/reranksharp", nuspec.Descendants(ns + "repository").Single().Attribute("url")!.Value);
        Assert.Contains("bge-reranker-v2-m3", Field("description"));
        var dependencies = nuspec.Descendants(ns + "dependency").Select(d => d.Attribute("id")!.Value).ToList();
        Assert.Contains("Microsoft.ML.OnnxRuntime", dependencies);
        Assert.Contains("Google.Protobuf", dependencies);
        Assert.DoesNotContain("Grpc.Tools", dependencies);   // a build-time code generator, not for users
        var files = package.Entries.Select(e => e.FullName).ToList();
        Assert.Contains("lib/net10.0/RerankSharp.dll", files);
        Assert.Contains("lib/net10.0/RerankSharp.xml", files);
        Assert.Contains("README.md", files);
        Assert.Contains(symbols.Entries, e => e.FullName == "lib/net10.0/RerankSharp.pdb");
    }

    [Fact]
    public void The_sample_restores_the_package_from_a_local_feed_builds_and_ranks_as_the_engine_does()
    {
        var feed = builds.LibraryFeed;
        // The sample as a user's project: its own folder, a NuGet.config naming only the local feed (the packages the
        // library depends on come from the machine's package folder, as the solution's restore left them).
        var project = builds.Temp("sample");
        foreach (var file in Directory.GetFiles(RepositoryRoot.File("samples", "RerankSharp.Sample")))
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
            $"-p:RestorePackagesPath={builds.Temp("sample-packages")}", $"-p:RestoreAdditionalProjectFallbackFolders={PackagedBuilds.GlobalPackages}"],
            project).EnsureSuccess();
        var model = FixturePaths.Model("tiny-a");
        var run = ExternalCommand.Run("dotnet", [Path.Combine(project, "bin", "Release", "net10.0", "RerankSharp.Sample.dll"), model], project).EnsureSuccess();

        var lines = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')).ToList();
        using var encoder = CrossEncoder.Load(model);
        var expected = encoder.Rank("what is panda?", ["hi", "The giant panda (Ailuropoda melanoleuca), sometimes called a panda bear or simply panda, is a bear species endemic to China."]);
        Assert.Equal(expected.Select(r => (r.Score.ToString("R", CultureInfo.InvariantCulture), r.Index.ToString(CultureInfo.InvariantCulture))),
            lines.Select(l => (l[0], l[1])));
    }
}
