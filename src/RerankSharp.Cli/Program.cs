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
return await root.Parse(args).InvokeAsync();
