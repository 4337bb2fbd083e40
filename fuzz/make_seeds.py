#!/usr/bin/python3
"""Writes the seed corpus of the fuzz targets (fuzz/corpus/<target>/) from the project's own files
and small hand-made inputs. The checkpoint seed comes from the binary:
    build/fuzz/jeffreys_fuzz --write-checkpoint-seed fuzz/corpus/checkpoint/joint_run.pt
Run from the repository root: /usr/bin/python3 fuzz/make_seeds.py"""
import gzip
import os
import struct
import zlib

SEP = b"\n--8<--\n"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")


def put(target, name, data):
    os.makedirs(os.path.join(CORPUS, target), exist_ok=True)
    with open(os.path.join(CORPUS, target, name), "wb") as f:
        f.write(data)


def read(path):
    with open(os.path.join(ROOT, path), "rb") as f:
        return f.read()


# CSV: the accepted forms and the refusals the reader names.
put("csv", "header.csv", b"x,y\n0.5,-1\n2e-3,4\n")
put("csv", "no_header.csv", b"1,2,3\n4,5,6\n")
put("csv", "comments_quotes_crlf.csv", b"\xef\xbb\xbf# a comment\r\n\"a\" , \"b\"\r\n\r\n 1 ,\t2\r\n")
put("csv", "one_column.csv", b"v\n1\n2\n3\n")
put("csv", "ragged.csv", b"1,2\n3\n")
put("csv", "not_a_number.csv", b"a,b\n1,abc\n")
put("csv", "nan_inf.csv", b"1,nan\n2,inf\n")
put("csv", "too_large.csv", b"1,1e30\n")
put("csv", "header_only.csv", b"a,b\n")
put("csv", "binary.csv", b"1,2\n\x00\xff\xfe\n")
put("csv", "gzip.csv.gz", gzip.compress(b"x,y\n0.5,-1\n2e-3,4\n", mtime=0))

# Run configurations: the committed ones, with --set lines in a second part.
for name in sorted(os.listdir(os.path.join(ROOT, "configs"))):
    put("config", name, read("configs/" + name))
put("config", "default.toml", read("tests/app/data/default_config.toml"))
put("config", "with_sets.toml", read("configs/jeffreys-8gaussians.toml") + SEP +
    b"train.steps=10\nflow.family=nsf\nmethod.name=jeffreys-F10\noptim.schedule=exponential\noptim.gamma=0.99\n")
put("config", "bad_set.toml", b"[train]\nsteps = 5\n" + SEP + b"train.steps=-1\nnope=1\n")

# IDX: MNIST layout, raw and gzip, with and without labels, and broken ones.
def idx_images(n, h, w):
    return struct.pack(">IIII", 0x803, n, h, w) + bytes((i * 37) % 256 for i in range(n * h * w))


def idx_labels(n):
    return struct.pack(">II", 0x801, n) + bytes(i % 10 for i in range(n))


put("idx", "raw_with_labels", idx_images(3, 4, 4) + SEP + idx_labels(3))
put("idx", "gzip_no_labels", gzip.compress(idx_images(2, 5, 3), mtime=0))
put("idx", "gzip_both", gzip.compress(idx_images(2, 2, 2), mtime=0) + SEP + gzip.compress(idx_labels(2), mtime=0))
put("idx", "truncated", idx_images(3, 4, 4)[:-5])
put("idx", "label_count", idx_images(3, 2, 2) + SEP + idx_labels(2))
put("idx", "bad_magic", struct.pack(">IIII", 0x802, 1, 1, 1) + b"\x00")


# PNG: every colour type stb reads, 8 and 16 bits, and a header that declares a huge image.
def png(width, height, colour, depth, rows=None):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    row_bytes = width * channels * depth // 8
    if rows is None:
        rows = b"".join(b"\x00" + bytes((x * 53 + y * 11) % 256 for x in range(row_bytes)) for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


put("png", "grey8.png", png(4, 3, 0, 8))
put("png", "rgb8.png", png(3, 3, 2, 8))
put("png", "rgba8.png", png(2, 2, 6, 8))
put("png", "grey_alpha8.png", png(2, 3, 4, 8))
put("png", "grey16.png", png(3, 2, 0, 16))
put("png", "huge_header.png", png(30000, 30000, 2, 8, rows=b"\x00" * 16))
put("png", "truncated.png", png(4, 4, 2, 8)[:40])

# sbibm observation folders: two_moons' first observation (20 reference samples), and broken ones.
obs = "data/sbibm/two_moons/obs_1/"
samples = b"".join(gzip.decompress(read(obs + "reference_posterior_samples.csv.gz")).splitlines(keepends=True)[:21])
put("observation", "two_moons_obs1", read(obs + "observation.csv") + SEP + read(obs + "true_parameters.csv") + SEP + samples)
put("observation", "no_header", b"0.1,0.2\n" + SEP + b"0.3,0.4\n" + SEP + b"0.3,0.4\n0.5,0.6\n")
put("observation", "widths_disagree", b"0.1,0.2\n" + SEP + b"0.3,0.4,0.5\n" + SEP + b"0.3,0.4\n")
put("observation", "two_rows", b"0.1,0.2\n0.3,0.4\n" + SEP + b"0.3,0.4\n" + SEP + b"0.3,0.4\n")

# Study files: the committed ones with their base configurations.
put("study", "small_data_2d", read("experiments/small_data_2d/study.toml") + SEP + read("experiments/small_data_2d/base.toml")
    + SEP + b"train.steps=100\n")
put("study", "tuning", read("experiments/small_data_2d/tuning.toml") + SEP +
    read("experiments/small_data_2d/base.toml"))
for name in ("benchmark.toml", "formulations.toml", "low_data.toml"):
    put("sbi_benchmark", name, read("experiments/sbibm/" + name))
put("image_study", "fashion_mnist", read("experiments/fashion_mnist/study.toml").replace(b"latent_base.toml", b"latent.toml")
    + SEP + read("experiments/fashion_mnist/latent_base.toml"))
