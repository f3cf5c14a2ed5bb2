using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace RerankSharp.Tests.Models;

/// <summary>
/// Writes safetensors files byte by byte, the way huggingface/safetensors lays them out: an 8-byte
/// little-endian header length, the JSON header padded with spaces to a multiple of 8, then the
/// tensors back to back in the order added.
/// </summary>
internal sealed class SafetensorsBuilder
{
    private readonly List<(string Name, string DType, long[] Shape, byte[] Data)> _tensors = [];

    public Dictionary<string, string>? Metadata { get; set; } = new() { ["format"] = "pt" };

    public SafetensorsBuilder Add(string name, string dtype, long[] shape, byte[] data)
    {
        _tensors.Add((name, dtype, shape, data));
        return this;
    }

    public SafetensorsBuilder AddF32(string name, long[] shape, params float[] values)
    {
        byte[] data = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(i * 4), values[i]);
        return Add(name, "F32", shape, data);
    }

    /// <summary>F16 or BF16 values given as their bit patterns.</summary>
    public SafetensorsBuilder AddBits16(string name, string dtype, long[] shape, params ushort[] bits)
    {
        byte[] data = new byte[bits.Length * 2];
        for (int i = 0; i < bits.Length; i++)
            BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(i * 2), bits[i]);
        return Add(name, dtype, shape, data);
    }

    /// <summary>A tensor of the right size whose bytes count up (0, 1, 2, …) so that slices are recognisable.</summary>
    public SafetensorsBuilder AddCounting(string name, string dtype, int elementSize, params long[] shape)
    {
        long count = shape.Aggregate(1L, (a, b) => a * b);
        byte[] data = new byte[count * elementSize];
        for (int i = 0; i < data.Length; i++)
            data[i] = (byte)(i * 7 + name.Length);
        return Add(name, dtype, shape, data);
    }

    public string HeaderJson()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (Metadata is not null)
            {
                json.WriteStartObject("__metadata__");
                foreach ((string key, string value) in Metadata)
                    json.WriteString(key, value);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach ((string name, string dtype, long[] shape, byte[] data) in _tensors)
            {
                json.WriteStartObject(name);
                json.WriteString("dtype", dtype);
                json.WriteStartArray("shape");
                foreach (long dimension in shape)
                    json.WriteNumberValue(dimension);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + data.Length);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += data.Length;
            }
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    public byte[] Data() => _tensors.SelectMany(tensor => tensor.Data).ToArray();

    public byte[] ToBytes() => Assemble(HeaderJson(), Data());

    public string WriteTo(TempDirectory directory, string name = "model.safetensors") =>
        directory.Write(name, ToBytes());

    /// <summary>A file from a hand-written header: length, header padded to 8 bytes, data.</summary>
    public static byte[] Assemble(string headerJson, byte[] data)
    {
        byte[] header = Encoding.UTF8.GetBytes(headerJson);
        int padded = (header.Length + 7) / 8 * 8;
        return Assemble((ulong)padded, [.. header, .. Enumerable.Repeat((byte)' ', padded - header.Length), .. data]);
    }

    /// <summary>A file from a declared header length and whatever bytes follow it.</summary>
    public static byte[] Assemble(ulong declaredHeaderLength, byte[] rest)
    {
        byte[] file = new byte[8 + rest.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, declaredHeaderLength);
        rest.CopyTo(file, 8);
        return file;
    }
}
