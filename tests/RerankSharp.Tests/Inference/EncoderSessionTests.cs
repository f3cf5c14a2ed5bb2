using Microsoft.Extensions.Logging;
using RerankSharp.Inference;
using RerankSharp.Scoring;

namespace RerankSharp.Tests.Inference;

public class EncoderSessionTests
{
    [Theory]
    [InlineData(Device.Cuda, 1)]   // asked for explicitly: say why it is not used and what to install
    [InlineData(Device.Auto, 0)]   // auto: CPU is an expected outcome, nothing to warn about
    public async Task Without_the_gpu_runtime_cuda_falls_back_to_cpu_with_the_same_scores(Device device, int warnings)
    {
        var logger = new WarningLogger();
        using var cpu = await CrossEncoder.LoadAsync(FixturePaths.Model("tiny-a"));
        using var fallback = await CrossEncoder.LoadAsync(FixturePaths.Model("tiny-a"), new CrossEncoderOptions { Device = device, Logger = logger });

        Assert.Equal("CPUExecutionProvider", fallback.ExecutionProvider);
        Assert.Equal(warnings, logger.Warnings.Count);
        if (warnings > 0) Assert.Contains("Microsoft.ML.OnnxRuntime.Gpu.Linux", logger.Warnings[0]);
        Assert.Equal(cpu.Predict([("q", "d"), ("中国的首都是哪里?", "北京是中国的政治中心和首都。")]),
            fallback.Predict([("q", "d"), ("中国的首都是哪里?", "北京是中国的政治中心和首都。")]));
    }

    private sealed class WarningLogger : ILogger
    {
        public List<string> Warnings { get; } = [];
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel == LogLevel.Warning) Warnings.Add(formatter(state, exception));
        }
    }

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
        Assert.Contains("lower CrossEncoderOptions.BatchSize or CrossEncoderOptions.MaxBatchTokens", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void Another_failure_keeps_the_first_line_of_what_ONNX_Runtime_said()
    {
        var error = EncoderSession.RunFailure("[ErrorCode:InvalidArgument] Unexpected input data type\nmore detail", 1, 7, new InvalidOperationException());

        Assert.Equal("ONNX Runtime failed on a 1×7 batch: [ErrorCode:InvalidArgument] Unexpected input data type", error.Message);
    }
}
