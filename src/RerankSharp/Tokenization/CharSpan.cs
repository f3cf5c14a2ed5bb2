namespace RerankSharp.Tokenization;

/// <summary>A range <c>[Start, End)</c> of UTF-16 code units in a string: where a token came from in the text it was read from.</summary>
public readonly record struct CharSpan(int Start, int End)
{
    public int Length => End - Start;
}
