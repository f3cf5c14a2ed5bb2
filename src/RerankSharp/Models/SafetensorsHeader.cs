using System.Text.Json;

namespace RerankSharp.Models;

/// <summary>
/// Parses and checks the JSON header of one safetensors file:
/// <c>{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, …, "__metadata__": {…}}</c>,
/// with offsets relative to the data buffer that follows the header.
/// </summary>
/// <remarks>
/// The checks are those of the reference implementation (huggingface/safetensors,
/// <c>Metadata::validate</c>): offsets sorted must tile the buffer exactly, with no hole, no
/// overlap and nothing left over, and each byte range must equal element count × dtype size.
/// A file that passes can be read by PyTorch; one that fails would be refused there too.
/// </remarks>
internal static class SafetensorsHeader
{
    private const string MetadataKey = "__metadata__";
    private const string ReDownload = "re-download the file from the Hugging Face hub";
    private const string Truncated = "the file looks truncated (an incomplete download); re-download it from the Hugging Face hub";

    /// <param name="headerJson">The header bytes (after the 8-byte length).</param>
    /// <param name="filePath">The file, named in every message and recorded in each entry.</param>
    /// <param name="dataStart">Absolute offset of the data buffer: 8 + header length.</param>
    /// <param name="dataLength">Bytes from <paramref name="dataStart"/> to the end of the file.</param>
    /// <returns>The tensors, ordered by their offset in the file.</returns>
    public static IReadOnlyList<TensorEntry> Parse(ReadOnlyMemory<byte> headerJson, string filePath, long dataStart, long dataLength)
    {
        // The reference refuses a header that does not open an object before trying to parse it:
        // a wrong file (a .bin, an HTML error page saved under this name) fails with a plain message.
        if (headerJson.Length == 0 || headerJson.Span[0] != (byte)'{')
            throw new RerankException(RerankErrorKind.InvalidModel,
                $"{filePath} is not a safetensors file: its header does not start with '{{'; the file is corrupt or of another format; {ReDownload}.");

        string source = $"{filePath} (safetensors header)";
        using JsonDocument document = JsonFile.Parse(headerJson, source, ReDownload);
        JsonObjectReader json = JsonObjectReader.Root(document, source, ReDownload);

        var seen = new HashSet<string>(StringComparer.Ordinal);
        var raw = new List<(string Name, TensorDType DType, long[] Shape, long Begin, long End)>();
        foreach (JsonProperty property in json.Properties())
        {
            // JsonDocument keeps duplicate keys; the reference's map would keep only the last one
            // and then fail on the hole the first leaves. Naming the duplicate is clearer.
            if (!seen.Add(property.Name))
                throw json.Invalid($"\"{property.Name}\" appears twice in the header");
            if (property.Name == MetadataKey)
                CheckMetadata(json, property.Value);
            else
                raw.Add(ReadEntry(json, property.Name, property.Value));
        }

        raw.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));

        var entries = new List<TensorEntry>(raw.Count);
        long expectedBegin = 0;
        string? previous = null;
        foreach ((string name, TensorDType dtype, long[] shape, long begin, long end) in raw)
        {
            string offsets = $"[{begin}, {end}]";
            if (end < begin)
                throw json.Invalid($"tensor '{name}' has data_offsets {offsets}, whose end is before its begin");
            if (end > dataLength)
                throw new RerankException(RerankErrorKind.InvalidModel,
                    $"{filePath}: tensor '{name}' ends at byte {end} of the data, but the file holds only {dataLength} bytes of data; {Truncated}.");

            long elements = ElementCount(json, name, shape);
            if (!TryMultiply(elements, dtype.ByteSize(), out long bytes) || bytes != end - begin)
                throw json.Invalid($"tensor '{name}' is {dtype} {TensorEntry.FormatShape(shape)}, which takes {(bytes >= 0 ? bytes.ToString() : "more than 2^63")} bytes, but its data_offsets {offsets} span {end - begin} bytes");

            if (begin < expectedBegin)
                throw json.Invalid($"tensors '{previous}' and '{name}' overlap: '{name}' starts at byte {begin}, before '{previous}' ends at byte {expectedBegin}");
            if (begin > expectedBegin)
                throw json.Invalid(previous is null
                    ? $"the first tensor '{name}' starts at byte {begin}, leaving {begin} unused bytes at the start of the data; safetensors requires tensors to fill the data without gaps"
                    : $"{begin - expectedBegin} unused bytes lie between tensor '{previous}' (ending at byte {expectedBegin}) and tensor '{name}' (starting at byte {begin}); safetensors requires tensors to fill the data without gaps");

            entries.Add(new TensorEntry(name, dtype, shape, filePath, dataStart + begin, end - begin));
            expectedBegin = end;
            previous = name;
        }

        if (expectedBegin != dataLength)
            throw json.Invalid(previous is null
                ? $"the header lists no tensors, but {dataLength} bytes of data follow it"
                : $"{dataLength - expectedBegin} bytes follow the last tensor '{previous}' (ending at byte {expectedBegin} of {dataLength}); safetensors requires tensors to fill the data without gaps");
        return entries;
    }

    private static void CheckMetadata(JsonObjectReader json, JsonElement value)
    {
        // The reference reads __metadata__ as a map of string to string and refuses anything else.
        if (value.ValueKind != JsonValueKind.Object
            || value.EnumerateObject().Any(item => item.Value.ValueKind != JsonValueKind.String))
            throw json.Invalid($"\"{MetadataKey}\" must be an object of strings, but is {JsonFile.Describe(value)}");
    }

    private static (string, TensorDType, long[], long, long) ReadEntry(JsonObjectReader json, string name, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw json.Invalid($"tensor '{name}' must be an object with dtype, shape and data_offsets, but is {JsonFile.Describe(value)}");

        JsonElement Field(string key) =>
            value.TryGetProperty(key, out JsonElement field) ? field
                : throw json.Invalid($"tensor '{name}' has no \"{key}\"");

        JsonElement dtypeValue = Field("dtype");
        if (dtypeValue.ValueKind != JsonValueKind.String)
            throw json.Invalid($"tensor '{name}' has dtype {JsonFile.Describe(dtypeValue)}, which is not a dtype name");
        string dtypeText = dtypeValue.GetString()!;
        if (!TensorDTypeExtensions.TryParse(dtypeText, out TensorDType dtype))
            // Newer safetensors versions add types (F4, F8_E8M0, U16, C64, …). Such a file is not
            // broken, and re-downloading will not help, so this is "unsupported", not "invalid".
            throw new RerankException(RerankErrorKind.UnsupportedModel,
                $"{json.Path}: tensor '{name}' has dtype \"{dtypeText}\", which RerankSharp does not read (it knows {string.Join(", ", Enum.GetNames<TensorDType>())}); use a copy of the model saved in float32, float16 or bfloat16.");

        JsonElement shapeValue = Field("shape");
        if (!TryReadNonNegativeIntegers(shapeValue, out long[] shape))
            throw json.Invalid($"tensor '{name}' has shape {JsonFile.Describe(shapeValue)}, which must be a list of non-negative integers");

        JsonElement offsetsValue = Field("data_offsets");
        if (!TryReadNonNegativeIntegers(offsetsValue, out long[] offsets) || offsets.Length != 2)
            throw json.Invalid($"tensor '{name}' has data_offsets {JsonFile.Describe(offsetsValue)}, which must be two non-negative integers [begin, end]");

        return (name, dtype, shape, offsets[0], offsets[1]);
    }

    /// <summary>
    /// Integers beyond <see cref="long.MaxValue"/> are refused too: no file or tensor can be that
    /// large, so such a value is corruption, and refusing it keeps later arithmetic in range.
    /// </summary>
    private static bool TryReadNonNegativeIntegers(JsonElement value, out long[] numbers)
    {
        numbers = [];
        if (value.ValueKind != JsonValueKind.Array)
            return false;
        var list = new List<long>();
        foreach (JsonElement item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out long number) || number < 0)
                return false;
            list.Add(number);
        }
        numbers = list.ToArray();
        return true;
    }

    private static long ElementCount(JsonObjectReader json, string name, long[] shape)
    {
        long count = 1;
        foreach (long dimension in shape)
        {
            if (!TryMultiply(count, dimension, out count))
                throw json.Invalid($"tensor '{name}' has shape {TensorEntry.FormatShape(shape)}, whose element count overflows");
        }
        return count;
    }

    private static bool TryMultiply(long a, long b, out long product)
    {
        try
        {
            product = checked(a * b);
            return true;
        }
        catch (OverflowException)
        {
            product = -1;
            return false;
        }
    }
}
