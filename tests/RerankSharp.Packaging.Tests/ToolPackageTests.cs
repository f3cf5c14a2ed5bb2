using System.Globalization;
using System.IO.Compression;
using System.Text.Json.Nodes;
using System.Xml.Linq;
using RerankSharp.Scoring;
using RerankSharp.Tests;

namespace RerankSharp.Packaging.Tests;

/// <summary>The <c>rerank</c> dotnet tool: packed, installed from a local feed into a tool path, and run.</summary>
[Collection(PackagingCollection.Name)]
public class ToolPackageTests(PackagedBuilds builds)
{
    [Fact]
    public void Installs_from_a_local_feed_and_its_rerank_command_helps_and_scores_a_fixture()
    {
        var feed = builds.ToolFeed;
        var toolPath = builds.Temp("tools");

        ExternalCommand.Dotnet("tool", "install", "RerankSharp.Cli", "--version", builds.PackageVersion, "--tool-path", toolPath, "--add-source", feed)
            .EnsureSuccess();
        var rerank = Path.Combine(toolPath, "rerank");
        var help = ExternalCommand.Run(rerank, ["--help"]);
        var model = FixturePaths.Model("tiny-a");
        const string input = """{"query": "中国的首都是哪里?", "documents": ["北京是中国的政治中心和首都。", "首都机场位于北京,是中国重要交通枢纽。"]}""";
        var score = ExternalCommand.Run(rerank, ["score", "--model", model], stdin: input + "\n");

        Assert.Equal(0, help.ExitCode);
        Assert.Contains("score", help.Stdout);
        Assert.Contains("serve", help.Stdout);
        Assert.True(score.ExitCode == 0, score.Stderr);
        var scores = JsonNode.Parse(score.Stdout)!["scores"]!.AsArray().Select(s => s!.GetValue<float>()).ToArray();
        using var encoder = CrossEncoder.Load(model);
        Assert.Equal(encoder.Predict([("中国的首都是哪里?", "北京是中国的政治中心和首都。"), ("中国的首都是哪里?", "首都机场位于北京,是中国重要交通枢纽。")]), scores);
    }

    [Fact]
    public void Is_a_small_package_pointing_to_one_package_per_platform_that_holds_the_native_runtime()
    {
        var feed = builds.ToolFeed;
        var rid = PackagedBuilds.RuntimeIdentifier;

        using var pointer = ZipFile.OpenRead(Path.Combine(feed, $"RerankSharp.Cli.{builds.PackageVersion}.nupkg"));
        using var platform = ZipFile.OpenRead(Path.Combine(feed, $"RerankSharp.Cli.{rid}.{builds.PackageVersion}.nupkg"));

        var nuspec = Nuspec(pointer);
        Assert.Equal("DotnetTool", nuspec.Descendants(nuspec.Name.Namespace + "packageType").Single().Attribute("name")!.Value);
        Assert.Equal("MIT", nuspec.Descendants(nuspec.Name.Namespace + "license").Single().Value);
        var pointerSettings = XDocument.Load(pointer.GetEntry("tools/any/any/DotnetToolSettings.xml")!.Open());
        Assert.Equal("rerank", pointerSettings.Descendants("Command").Single().Attribute("Name")!.Value);
        Assert.Contains(pointerSettings.Descendants("RuntimeIdentifierPackage"), p => p.Attribute("RuntimeIdentifier")!.Value == rid && p.Attribute("Id")!.Value == $"RerankSharp.Cli.{rid}");
        // Each platform's package runs its native launcher (the app host), which starts the installed .NET runtime.
        var command = XDocument.Load(platform.GetEntry($"tools/net10.0/{rid}/DotnetToolSettings.xml")!.Open()).Descendants("Command").Single();
        Assert.Equal(("rerank", "rerank", "executable"), (command.Attribute("Name")!.Value, command.Attribute("EntryPoint")!.Value, command.Attribute("Runner")!.Value));
        Assert.Contains(platform.Entries, e => e.FullName == $"tools/net10.0/{rid}/rerank.dll");
        Assert.Contains(platform.Entries, e => e.FullName == $"tools/net10.0/{rid}/libonnxruntime.so");
        Assert.DoesNotContain(platform.Entries, e => e.FullName.Contains("/runtimes/", StringComparison.Ordinal));
        var megabytes = new FileInfo(Path.Combine(feed, $"RerankSharp.Cli.{rid}.{builds.PackageVersion}.nupkg")).Length / 1048576.0;
        Assert.True(megabytes < 40, $"the {rid} tool package is {megabytes.ToString("F1", CultureInfo.InvariantCulture)} MiB");
    }

    internal static XElement Nuspec(ZipArchive package) =>
        XDocument.Load(package.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open()).Root!;
}
