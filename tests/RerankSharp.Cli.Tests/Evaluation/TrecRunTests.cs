using RerankSharp.Cli.Evaluation;

namespace RerankSharp.Cli.Tests.Evaluation;

public class TrecRunTests
{
    private static string Write(string text)
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("rerank-run-").FullName, "run.trec");
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void Candidates_are_ordered_by_score_then_by_document_id_descending_and_the_rank_column_is_ignored()
    {
        var run = TrecRun.Load(Write("q1 Q0 a 1 1.5 x\nq1 Q0 c 2 2.5 x\nq1 Q0 b 3 1.5 x\nq2 Q0 z 1 -1 x\n\n"));

        Assert.Equal(["c", "b", "a"], run["q1"]);
        Assert.Equal(["z"], run["q2"]);
    }

    [Theory]
    [InlineData("q1 Q0 a 1 x run\n", "run.trec:1 is not a TREC run line")]
    [InlineData("q1 Q0 a 1 1.0\n", "run.trec:1 is not a TREC run line")]
    [InlineData("q1 Q0 a 1 1.0 r\nq1 Q0 a 2 0.5 r\n", "run.trec:2 lists document a for query q1 a second time")]
    public void Bad_lines_are_refused_with_the_line_number(string text, string message)
    {
        var error = Assert.Throws<RerankException>(() => TrecRun.Load(Write(text)));
        Assert.Equal(RerankErrorKind.InvalidInput, error.Kind);
        Assert.Contains(message, error.Message);
    }
}
