"""The on-disk spill an export merges its examples in: order, paging, the held-out split."""
from nearmiss.export.select import Example, Negative
from nearmiss.export.spill import PAGE, Spill


def _example(n: int, negatives: int = 1) -> Example:
    return Example(f"i{n}", "d", "test", f"q{n}", None, f"gold {n}",
                   [Negative(f"c{n}-{k}", f"wrong {k}", "near_miss", "distractor") for k in range(negatives)])


def test_examples_come_back_once_each_in_first_seen_order_across_pages_while_rewritten():
    spill = Spill()
    n = 2 * PAGE + 7
    for i in reversed(range(n)):  # keys not in insertion order
        spill.put((f"p{i:05d}", "g"), _example(i))
    seen = []
    for key, ex in spill.keyed():
        seen.append(ex.item_id)
        if int(ex.item_id[1:]) % 3 == 0:
            spill.drop(key)
        else:
            ex.negatives.append(Negative("extra", "another", "far_miss", "neighbour"))
            spill.put(key, ex)  # rewritten in place: keeps its place, is not seen twice
    assert seen == [f"i{i}" for i in reversed(range(n))]
    kept = list(spill.part())
    assert [ex.item_id for ex in kept] == [f"i{i}" for i in reversed(range(n)) if i % 3]
    assert all(len(ex.negatives) == 2 for ex in kept) and spill.part().negatives == 2 * len(kept)


def test_held_out_prompts_split_the_examples_and_chunks_cover_each_side():
    spill = Spill()
    for i in range(30):
        spill.put((f"p{i % 10}", f"g{i}"), _example(i, negatives=i % 3 + 1))  # 10 prompts, 3 golds each
    assert spill.count_prompts() == 10 and list(spill.prompts()) == sorted(f"p{i}" for i in range(10))
    spill.hold_out(["p1", "p7"])
    held, rest = spill.part(held_out=True), spill.part(held_out=False)
    assert len(held) == 6 and len(rest) == 24
    assert sorted(ex.item_id for chunk in held.chunks(4) for ex in chunk) == sorted(
        f"i{i}" for i in range(30) if i % 10 in (1, 7))
    assert [len(c) for c in rest.chunks(10)] == [10, 10, 4]
    assert held.negatives + rest.negatives == sum(i % 3 + 1 for i in range(30))
