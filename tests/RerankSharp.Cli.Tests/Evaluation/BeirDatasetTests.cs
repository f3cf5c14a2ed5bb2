using RerankSharp.Cli.Evaluation;
using RerankSharp.Tests;

namespace RerankSharp.Cli.Tests.Evaluation;

public class BeirDatasetTests
{
    [Fact]
    public void The_synthetic_fixture_loads_with_titles_joined_to_the_text_and_the_header_skipped()
    {
        var data = BeirDataset.Load(Path.Combine(FixturePaths.Fixtures, "beir-synthetic"), null);

        Assert.Equal(48, data.Corpus.Count);
        Assert.Equal(14, data.Queries.Count);
        Assert.Equal(13, data.Qrels.Count);
        Assert.StartsWith("Bread ", data.Corpus["bread-1"]);
        Assert.Equal(2, data.Qrels["q01"]["bread-0"]);
        Assert.All(data.Qrels["q13"].Values, grade => Assert.Equal(0, grade));
    }

    [Fact]
    public void Several_qrels_files_need_a_split_and_a_missing_one_says_what_to_pass()
    {
        var dir = Directory.CreateTempSubdirectory("rerank-beir-").FullName;
        File.WriteAllText(Path.Combine(dir, "corpus.jsonl"), "{\"_id\": \"d1\", \"text\": \"t\"}\n");
        File.WriteAllText(Path.Combine(dir, "queries.jsonl"), "{\"_id\": 1, \"text\": \"q\"}\n");
        Directory.CreateDirectory(Path.Combine(dir, "qrels"));
        File.WriteAllText(Path.Combine(dir, "qrels", "dev.tsv"), "query-id\tcorpus-id\tscore\n1\td1\t1\n");
        File.WriteAllText(Path.Combine(dir, "qrels", "train.tsv"), "1\td1\t1\n");

        var ambiguous = Assert.Throws<RerankException>(() => BeirDataset.Load(dir, null));
        var missing = Assert.Throws<RerankException>(() => BeirDataset.Load(dir, "test"));
        var dev = BeirDataset.Load(dir, "dev");

        Assert.Contains("--split", ambiguous.Message);
        Assert.Contains("test.tsv", missing.Message);
        Assert.Equal(1, dev.Qrels["1"]["d1"]);
        Assert.Equal("q", dev.Queries["1"]);   // a numeric _id is read as its text
    }
}
