using System.Runtime.InteropServices;

namespace RerankSharp.Packaging.Tests;

/// <summary>
/// The tests of this project build from the repository's own projects (pack, publish), so they run one at a time: two
/// builds of the same project at once would write the same obj/ files.
/// </summary>
[CollectionDefinition(Name)]
public sealed class PackagingCollection : ICollectionFixture<PackagedBuilds>
{
    public const string Name = "packaging";
}

/// <summary>
/// What the packaging and deployment tests share, each made once on first use: a local feed with the library package and
/// the tool packages, the server published as deploy/Dockerfile publishes it, and the published <c>rerank --help</c>.
/// </summary>
public sealed class PackagedBuilds : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("rerank-packaging-");
    private readonly Lazy<string> _libraryFeed;
    private readonly Lazy<string> _toolFeed;
    private readonly Lazy<string> _published;
    private readonly Lazy<RerankHelp> _help;

    public PackagedBuilds()
    {
        // A version no earlier run used: NuGet caches a package by id and version, so a reused one could be a stale build.
        var version = typeof(RerankSharp.Scoring.CrossEncoder).Assembly.GetName().Version!;
        PackageVersion = $"{version.Major}.{version.Minor}.{version.Build}-test.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";
        Feed = Temp("feed");
        _libraryFeed = new(() =>
        {
            // The engine depends on the contract package, and the remote client on the contract only: all three go in.
            foreach (var project in new[] { "src/RerankSharp.Abstractions", "src/RerankSharp", "src/RerankSharp.Remote" })
                ExternalCommand.Dotnet("pack", project, "-c", "Release", "-o", Feed, $"-p:PackageVersion={PackageVersion}").EnsureSuccess();
            return Feed;
        });
        _toolFeed = new(() =>
        {
            // The tool ships one package per platform (RuntimeIdentifiers in its project) and a small one pointing to
            // them; this machine's platform is the one a test can install and run.
            ExternalCommand.Dotnet("pack", "src/RerankSharp.Cli", "-c", "Release", "-o", Feed, $"-p:PackageVersion={PackageVersion}",
                $"-p:ToolPackageRuntimeIdentifiers={RuntimeIdentifier}").EnsureSuccess();
            return Feed;
        });
        _published = new(() => PublishAsTheImageDoes(Temp("app")));
        _help = new(() => new RerankHelp(args => ExternalCommand.Run("dotnet", [Path.Combine(Published, "rerank.dll"), .. args]).EnsureSuccess().Stdout));
    }

    public string PackageVersion { get; }

    public string Feed { get; }

    /// <summary>The feed after <c>dotnet pack</c> of src/RerankSharp.Abstractions, src/RerankSharp and src/RerankSharp.Remote.</summary>
    public string LibraryFeed => _libraryFeed.Value;

    /// <summary>The feed after <c>dotnet pack src/RerankSharp.Cli</c> for this machine's platform.</summary>
    public string ToolFeed => _toolFeed.Value;

    /// <summary>The folder that deploy/Dockerfile's build stage publishes to /app.</summary>
    public string Published => _published.Value;

    internal RerankHelp Help => _help.Value;

    public static string RuntimeIdentifier => RuntimeInformation.RuntimeIdentifier;

    /// <summary>Docker's TARGETARCH for this machine.</summary>
    public static string TargetArch => RuntimeInformation.OSArchitecture switch
    {
        Architecture.X64 => "amd64",
        Architecture.Arm64 => "arm64",
        var other => throw new PlatformNotSupportedException($"No image is built for {other}."),
    };

    /// <summary>NuGet's global packages folder, where the solution's restore left the dependencies.</summary>
    public static string GlobalPackages =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } folder
            ? folder
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    /// <summary>A new folder under this run's temporary root.</summary>
    public string Temp(string name) => Directory.CreateDirectory(Path.Combine(_root.FullName, name)).FullName;

    // The build stage's `RUN dotnet publish …` as written (COPY . . puts the repository at its WORKDIR), with
    // TARGETARCH this machine's and /app a temporary folder.
    private static string PublishAsTheImageDoes(string output)
    {
        var dockerfile = DockerfileInstructions.Load(RepositoryRoot.File("deploy", "Dockerfile"));
        var run = dockerfile["build"].All("RUN").Single(r => r.Arguments.StartsWith("dotnet publish", StringComparison.Ordinal));
        var words = DockerfileInstructions.ShellWords(run.Arguments, key => key == "TARGETARCH" ? TargetArch : null);
        var arguments = words.Skip(1).Select(w => w == "/app" ? output : w).ToList();
        if (!arguments.Contains(output)) throw new InvalidDataException($"{dockerfile.Path}:{run.Line}: the publish step does not write to /app");
        ExternalCommand.Run(words[0], arguments).EnsureSuccess();
        return output;
    }

    public void Dispose()
    {
        try { _root.Delete(recursive: true); }
        catch (IOException) { }   // a process of a failed test may still hold a file; the folder is under the temp root
    }
}
