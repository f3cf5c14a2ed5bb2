using Google.Protobuf;
using RerankSharp.Tokenization.Proto;

namespace RerankSharp.Tokenization;

/// <summary>
/// Reads <c>sentencepiece.bpe.model</c> into a <see cref="TokenizerDefinition"/> the way transformers'
/// <c>XLMRobertaConverter</c> turns it into <c>tokenizer.json</c>: fairseq ids (<c>&lt;s&gt;</c>=0,
/// <c>&lt;pad&gt;</c>=1, <c>&lt;/s&gt;</c>=2, <c>&lt;unk&gt;</c>=3, piece i≥3 → i+1, <c>&lt;mask&gt;</c> last),
/// specials scored 0.0, and <c>&lt;mask&gt;</c> with lstrip as XLMRobertaTokenizer declares it.
/// </summary>
internal static class SentencePieceModelReader
{
    public static TokenizerDefinition Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new RerankException(RerankErrorKind.ModelNotFound,
                $"SentencePiece model '{path}' not found; pass the path of sentencepiece.bpe.model or use tokenizer.json.");
        }

        ModelProto proto;
        try
        {
            using var stream = File.OpenRead(path);
            proto = ModelProto.Parser.ParseFrom(stream);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new RerankException(RerankErrorKind.InvalidModel,
                $"'{path}' is not a SentencePiece model ({e.Message}); replace it with the model's sentencepiece.bpe.model.", e);
        }

        return FromProto(proto, path);
    }

    internal static TokenizerDefinition FromProto(ModelProto proto, string source)
    {
        var trainer = proto.TrainerSpec ?? new TrainerSpec();
        if (proto.Pieces.Count < 4)
        {
            throw new RerankException(RerankErrorKind.InvalidModel,
                $"'{source}' holds {proto.Pieces.Count} pieces, too few for a SentencePiece vocabulary; replace it with the model's sentencepiece.bpe.model.");
        }

        if (trainer.ModelType != TrainerSpec.Types.ModelType.Unigram)
        {
            throw new RerankException(RerankErrorKind.UnsupportedModel,
                $"'{source}' is a SentencePiece {trainer.ModelType} model; only Unigram (XLM-RoBERTa) models are supported.");
        }

        // The fairseq mapping below assumes XLM-R's layout: <unk>,<s>,</s> at spm ids 0,1,2 and no <pad> piece.
        if (trainer.UnkId != 0 || trainer.BosId != 1 || trainer.EosId != 2 || trainer.PadId >= 0)
        {
            throw new RerankException(RerankErrorKind.UnsupportedModel,
                $"'{source}' has unk/bos/eos/pad ids {trainer.UnkId}/{trainer.BosId}/{trainer.EosId}/{trainer.PadId}; XLM-RoBERTa models have 0/1/2/-1 (use the model's tokenizer.json instead).");
        }

        if (trainer.ByteFallback)
        {
            throw new RerankException(RerankErrorKind.UnsupportedModel,
                $"'{source}' uses byte fallback, which XLM-RoBERTa tokenizers do not; use a model with an XLM-RoBERTa tokenizer.");
        }

        int spmCount = proto.Pieces.Count;
        int maskId = spmCount + 1;
        var pieces = new string[spmCount + 2];
        var scores = new double[spmCount + 2];
        pieces[0] = "<s>";
        pieces[1] = "<pad>";
        pieces[2] = "</s>";
        pieces[3] = "<unk>";
        for (int i = 3; i < spmCount; i++)
        {
            pieces[i + 1] = proto.Pieces[i].Piece;
            // Widening float → double is exact, which is what the converter's Python floats hold.
            scores[i + 1] = proto.Pieces[i].Score;
        }

        pieces[maskId] = "<mask>";

        byte[] charsmap = proto.NormalizerSpec?.PrecompiledCharsmap.ToByteArray() ?? [];
        AddedToken[] added =
        [
            new("<s>", 0, false, false),
            new("<pad>", 1, false, false),
            new("</s>", 2, false, false),
            new("<unk>", 3, false, false),
            new("<mask>", maskId, LStrip: true, RStrip: false),
        ];
        return new TokenizerDefinition(pieces, scores, UnkId: 3, charsmap, added, BosId: 0, EosId: 2, PadId: 1, MaskId: maskId);
    }
}
