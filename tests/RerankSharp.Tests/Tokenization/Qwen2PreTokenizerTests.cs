using System.Text.RegularExpressions;
using RerankSharp.Tokenization;

namespace RerankSharp.Tests.Tokenization;

public class Qwen2PreTokenizerTests
{
    private static readonly Qwen2PreTokenizer PreTokenizer = new(new Regex(ByteLevelBpeTokenizer.Qwen2Pattern, RegexOptions.CultureInvariant),
        [new AddedToken("<|im_end|>", 7, false, false)]);

    private static string[] Words(string text) => PreTokenizer.PreTokenize(text).Select(w => text.Substring(w.Offset, w.Length)).ToArray();

    [Fact]
    public void A_supplementary_symbol_joins_the_letters_after_it_as_oniguruma_sees_one_character()
    {
        Assert.Equal(["😀abc", " x"], Words("😀abc x"));
        Assert.Equal(["𝐀𝐁𝐂", " ", "1", "2"], Words("𝐀𝐁𝐂 12"));   // math letters are letters; digits go one by one
    }

    [Fact]
    public void Added_tokens_are_words_of_their_own_and_contractions_split_off()
    {
        Assert.Equal(["it", "'s", "<|im_end|>", "\n"], Words("it's<|im_end|>\n"));
    }
}
