using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using RerankSharp.Tests;

namespace RerankSharp.Packaging.Tests;

/// <summary>
/// deploy/Dockerfile.cuda, read as the builder reads it (no GPU and no Docker engine here: tools/ci/gpu-build.sh compiles
/// the GPU variant and runs it on the CPU fallback).
/// </summary>
[Collection(PackagingCollection.Name)]
public partial class DockerfileCudaTests(PackagedBuilds builds)
{
    private static readonly DockerfileInstructions Dockerfile = DockerfileInstructions.Load(RepositoryRoot.File("deploy", "Dockerfile.cuda"));

    // The CUDA and cuDNN majors each ONNX Runtime GPU package is built for, read from the package itself: the CUDA
    // provider library's ELF NEEDED entries (libcudart.so.13, libcublas.so.13, libcublasLt.so.13, libcurand.so.10) and
    // the libcudnn.so.9 it loads (docs/deploy.md). A version bump must come with a base image that matches.
    private static readonly Dictionary<string, (int Cuda, int Cudnn)> BuiltFor = new() { ["1.31.0"] = (13, 9), ["1.32.0"] = (13, 9) };

    [Fact]
    public void The_base_image_carries_the_cuda_and_cudnn_that_the_pinned_onnx_runtime_gpu_package_was_built_for()
    {
        var props = XDocument.Load(RepositoryRoot.File("Directory.Packages.props"));
        var version = props.Descendants("PackageVersion").Single(p => p.Attribute("Include")!.Value == "Microsoft.ML.OnnxRuntime.Gpu.Linux").Attribute("Version")!.Value;

        var image = Dockerfile.Final.From;
        var tag = CudaTag().Match(image);

        Assert.True(tag.Success, $"{image} is not an nvidia/cuda cuDNN runtime image");
        var (cuda, cudnn) = BuiltFor[version];
        Assert.Equal(cuda, int.Parse(tag.Groups["cuda"].Value, CultureInfo.InvariantCulture));
        // nvidia/cuda names cuDNN 9 plainly ("-cudnn-runtime-", libcudnn9-cuda-13 inside); older majors were named in the
        // tag ("-cudnn8-runtime-").
        Assert.Equal(cudnn == 9 ? "" : cudnn.ToString(CultureInfo.InvariantCulture), tag.Groups["cudnnmajor"].Value);
    }

    [Fact]
    public void The_image_publishes_the_gpu_build_self_contained_and_serves_fp16_on_cuda_as_a_non_root_user()
    {
        var final = Dockerfile.Final;
        var environment = Dockerfile.Environment(final);
        var publish = Dockerfile["build"].All("RUN").Single(r => r.Arguments.StartsWith("dotnet publish", StringComparison.Ordinal)).Arguments;

        Assert.Contains("-p:RerankGpu=cuda", publish);
        Assert.Contains("--self-contained", publish);
        Assert.Contains("-r linux-x64", publish);
        Assert.Equal(["/app/rerank", "serve"], [.. DockerfileInstructions.ExecForm(final.Last("ENTRYPOINT")!), .. DockerfileInstructions.ExecForm(final.Last("CMD")!)]);
        Assert.Equal("cuda", environment["RERANK_DEVICE"]);
        Assert.Equal("fp16", environment["RERANK_PRECISION"]);
        Assert.Equal("0.0.0.0", environment["RERANK_HOST"]);
        Assert.Equal(environment["RERANK_PORT"], final.Last("EXPOSE")!.Arguments);
        Assert.Contains(environment["HF_HOME"], DockerfileInstructions.ExecForm(final.Last("VOLUME")!));
        var user = Dockerfile.Expand(final, final.Last("USER")!.Arguments);
        Assert.True(int.Parse(user, CultureInfo.InvariantCulture) > 0, $"USER {user}");
        Assert.Contains(final.All("RUN"), r => r.Arguments.Contains("useradd --uid \"$APP_UID\"", StringComparison.Ordinal));
        Assert.Contains("/health", final.Last("HEALTHCHECK")!.Arguments);
        Assert.Empty(environment.Keys.Where(k => k.StartsWith("RERANK_", StringComparison.Ordinal)).Except(builds.Help.EnvironmentVariables("serve")));
    }

    [Fact]
    public void The_images_device_and_precision_settings_are_accepted_and_fall_back_to_the_cpu_here_with_warnings()
    {
        var environment = Dockerfile.Environment(Dockerfile.Final);
        var settings = new Dictionary<string, string?>
        {
            ["RERANK_DEVICE"] = environment["RERANK_DEVICE"],
            ["RERANK_PRECISION"] = environment["RERANK_PRECISION"],
        };

        var result = ExternalCommand.Run("dotnet", [Path.Combine(builds.Published, "rerank.dll"), "score", "--model", FixturePaths.Model("tiny-a")],
            environment: settings, stdin: """{"query": "q", "documents": ["d"]}""" + "\n");

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("\"scores\"", result.Stdout);
        var warnings = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, warnings.Length);
        Assert.StartsWith("warning: CUDA was requested", warnings[0]);
        Assert.StartsWith("warning: fp16 runs natively on the CUDA provider only", warnings[1]);
    }

    [GeneratedRegex(@"^nvidia/cuda:(?<cuda>\d+)\.\d+\.\d+-cudnn(?<cudnnmajor>\d*)-runtime-ubuntu\d+\.\d+$")]
    private static partial Regex CudaTag();
}
