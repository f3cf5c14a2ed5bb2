using RerankSharp.Inference;

namespace RerankSharp.Tests.Inference;

public class EncoderSessionTests
{
    [Theory]
    // ORT's CPU arena, as a 2048 × 512 batch of tiny-a under `ulimit -v` reported it.
    [InlineData("[ErrorCode:Fail] Non-zero status code returned while running MultiHeadAttention node. Name:'roberta.encoder.layer.0.attention.self' Status Message: /onnxruntime_src/onnxruntime/core/framework/bfc_arena.cc:360 void* onnxruntime::BFCArena::AllocateRawInternal(size_t, bool, onnxruntime::Stream*) Failed to allocate memory for requested buffer of size 134217728", "; it could not allocate 128 MiB more")]
    [InlineData("[ErrorCode:RuntimeException] Non-zero status code returned while running FusedMatMul node. Status Message: std::bad_alloc", "")]
    [InlineData("[ErrorCode:Fail] CUDA failure 2: out of memory ; GPU=0 ; hostname=x ; expr=cudaMalloc((void**)&p, size);", "")]
    public void An_allocation_failure_says_to_make_batches_smaller(string ortMessage, string size)
    {
        var error = EncoderSession.RunFailure(ortMessage, 2048, 512, new InvalidOperationException());

        Assert.Equal(RerankErrorKind.Backend, error.Kind);
        Assert.StartsWith($"Out of memory running a batch of 2048 pairs × 512 tokens{size}.", error.Message);
        Assert.Contains("lower --batch-size or --max-batch-tokens", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void Another_failure_keeps_the_first_line_of_what_ONNX_Runtime_said()
    {
        var error = EncoderSession.RunFailure("[ErrorCode:InvalidArgument] Unexpected input data type\nmore detail", 1, 7, new InvalidOperationException());

        Assert.Equal("ONNX Runtime failed on a 1×7 batch: [ErrorCode:InvalidArgument] Unexpected input data type", error.Message);
    }
}
