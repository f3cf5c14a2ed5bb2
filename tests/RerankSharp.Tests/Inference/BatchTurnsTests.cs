using RerankSharp.Inference;

namespace RerankSharp.Tests.Inference;

/// <summary>The admission of batches to the shared pool: at most Capacity at once, in the order they asked.</summary>
public class BatchTurnsTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Two_places_admit_a_second_batch_beside_a_running_one_and_a_third_waits_for_a_place()
    {
        var turns = new BatchTurns(2);
        var first = turns.Take();
        var second = await Task.Run(turns.Take).WaitAsync(Patience);
        Assert.Equal(2, turns.Running);

        var third = Task.Run(turns.Take);
        await Task.Delay(200);
        Assert.False(third.IsCompleted, "a third batch ran beside two");

        second.Dispose();
        using var admitted = await third.WaitAsync(Patience);
        Assert.Equal(2, turns.Running);
        first.Dispose();
        Assert.Equal(1, turns.Running);
    }

    [Fact]
    public async Task One_place_is_strict_turns()
    {
        var turns = new BatchTurns(1);
        var first = turns.Take();
        var second = Task.Run(turns.Take);
        await Task.Delay(200);
        Assert.False(second.IsCompleted, "a second batch ran beside the first with one place");
        first.Dispose();
        (await second.WaitAsync(Patience)).Dispose();
        Assert.Equal(0, turns.Running);
    }

    [Fact]
    public async Task Waiting_batches_are_admitted_first_come_first_served()
    {
        var turns = new BatchTurns(1);
        var holder = turns.Take();
        var order = new List<int>();
        var waiters = new List<Task>();
        for (var i = 0; i < 5; i++)
        {
            var index = i;
            waiters.Add(Task.Run(() =>
            {
                using var turn = turns.Take();
                lock (order) order.Add(index);
            }));
            // Each asks only once the one before it is waiting.
            for (var wait = 0; turns.Waiting < i + 1 && wait < 1000; wait++) await Task.Delay(10);
        }
        holder.Dispose();
        await Task.WhenAll(waiters).WaitAsync(Patience);
        Assert.Equal([0, 1, 2, 3, 4], order);
    }

    [Fact]
    public void A_capacity_below_one_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new BatchTurns(0));
    }
}
