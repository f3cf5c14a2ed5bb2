using System.CommandLine;
using RerankSharp.Cli;
using RerankSharp.Cli.Commands;

var root = new RootCommand("rerank — cross-encoder reranking (BAAI/bge-reranker-v2-m3) on ONNX Runtime, no Python.");
CommonOptions.AddTo(root);
root.Subcommands.Add(ScoreCommand.Create());
root.Subcommands.Add(RankCommand.Create());
root.Subcommands.Add(TokenizeCommand.Create());
root.Subcommands.Add(InfoCommand.Create());
root.Subcommands.Add(DownloadCommand.Create());
root.Subcommands.Add(DemoCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
root.Subcommands.Add(ServeCommand.Create());
root.Subcommands.Add(EvalCommand.Create());
ParseResult parsed;
try
{
    parsed = root.Parse(args);
}
catch (RerankSharp.RerankException e) when (e.Kind == RerankSharp.RerankErrorKind.InvalidInput)
{
    // A RERANK_ variable that does not parse is read while the command line is: one line and exit 4, as for a bad flag value.
    Console.Error.WriteLine($"error: {e.Message}");
    return 4;
}
// Parse errors are one line and exit 4, as every other error of the CLI (help and version requests are not errors).
if (parsed.Errors.Count > 0) return ParseErrors.Report(parsed);
return await parsed.InvokeAsync();
