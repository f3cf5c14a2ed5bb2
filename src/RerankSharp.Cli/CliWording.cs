using System.Text.RegularExpressions;

namespace RerankSharp.Cli;

/// <summary>
/// The library's messages name the library's parameters (<c>CrossEncoderOptions.MaxLength</c>,
/// <c>HubDownload.DownloadAsync</c>), which is what a .NET caller sets; at the command line the same advice names the
/// flag or command that sets them. Applied to every error and warning the CLI prints.
/// </summary>
internal static partial class CliWording
{
    private static readonly (string Library, string Cli)[] Names =
    [
        ("CrossEncoderOptions.Precision = Precision.Fp32", "--precision fp32"),
        ("CrossEncoderOptions.Activation = ActivationMode.Sigmoid", "--activation sigmoid"),
        ("ActivationMode.None", "--activation none"),
        ("CrossEncoderOptions.OnnxFile", "--onnx-file"),
        ("CrossEncoderOptions.BatchSize", "--batch-size"),
        ("CrossEncoderOptions.MaxBatchTokens", "--max-batch-tokens"),
        ("CrossEncoderOptions.MaxLength", "--max-length"),
        ("top_n must be at least 1 (or unset", "--top-n must be at least 1 (or left out"),
        ("a local model folder instead of the hub id", "a local model folder (--model DIR) instead of the hub id"),
    ];

    [GeneratedRegex(@"HubDownload\.DownloadAsync\(""(?<id>[^""]+)""\)")]
    private static partial Regex Download();

    public static string Apply(string message)
    {
        foreach (var (library, cli) in Names) message = message.Replace(library, cli, StringComparison.Ordinal);
        return Download().Replace(message, "`rerank download ${id}`");
    }
}
