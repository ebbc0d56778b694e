"""An upload with bad rows of four kinds, for the loader's and the Datasets page's tests."""
import json


def bad_rows_file() -> str:
    """Ten mapped rows, bad at lines 3 (a NaN), 5 (no answer), 7 (choices not a list) and 9 (malformed JSON)."""
    lines = [json.dumps({"q": f"{n}+1?", "opts": [str(n + 1), str(n + 2)], "key": "A"}) for n in range(10)]
    lines[2] = lines[2].replace('"key": "A"', '"key": NaN')
    lines[4] = json.dumps({"q": "4+1?", "opts": ["5", "6"]})
    lines[6] = json.dumps({"q": "6+1?", "opts": 7, "key": "A"})
    lines[8] = '{"q": "8+1?", "opts": ["9", "10"], "key": "A"'
    return "\n".join(lines)
