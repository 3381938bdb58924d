"""Every default in one place, used by the Python API and the CLI alike.

A CLI flag's default is the constant here, and so is the matching keyword
argument's default in ``latentkit.commands``; change a number here and both
change together.
"""

from __future__ import annotations

# --- general -----------------------------------------------------------------
SEED = 0
DEVICE = "cpu"
# Measured on 2 CPU cores (benchmarks/bench_kl_report.py): the conv-vae encoder runs at
# ~20k images/s at batch 32-64 under torch.inference_mode. Larger batches used to drop to
# 5-7k because glibc mapped fresh pages for each batch's buffers; latentkit.allocator now
# keeps freed memory, so batch size changes little above 64.
BATCH_SIZE = 64
# Processes reading batches ahead of the model (DataLoader workers); 0 = read in the main process.
# On 2 CPU cores reading shapes costs ~1% of an encoding pass (benchmarks/bench_kl_report.py),
# so workers pay off only where decoding files or a GPU makes reading the bottleneck.
WORKERS = 0
OUT_ROOT = "latentkit-out"  # outputs go to OUT_ROOT/<checkpoint stem>-<hash>/ unless --out
OUT_DIR_HASH_CHARS = 6  # hex digits of the SHA-256 of the checkpoint's absolute path in that folder name
FIGURE_FORMAT = "png"
FIGURE_DPI = 300  # print resolution; figures are sized for a paper column (figures/style.py)
# Images with fewer pixels than this (8×8 digits; not 64×64 shapes) run torch on one thread
# unless --threads or OMP_NUM_THREADS says otherwise (latentkit/threads.py, benchmarks/bench_threads.py).
SMALL_INPUT_PIXELS = 1024
CHECKPOINT_FORMAT = "1"
# Encoded codes are cached here (see latentkit/codes_cache.py); else $XDG_CACHE_HOME/latentkit.
CACHE_DIR_ENV = "LATENTKIT_CACHE_DIR"
CODES_CACHE_MAX_BYTES = 512 * 2**20  # an encoding pass larger than this is not cached
# A sweep keeps rendered or decoded rows (shapes, PNG folders) up to this many bytes, so the
# checkpoints after the first read them from memory (latentkit/data/source.py RowCache).
SWEEP_ROW_CACHE_BYTES = 2**30
PLUGIN_API_VERSION = 2  # 2 added detect/load/describe; 1 (build only) is still read
SUPPORTED_PLUGIN_API_VERSIONS = (1, 2)

# --- kl-report -----------------------------------------------------------------
# Burda et al. 2015: a unit is active when Cov_x(E_q[z_i|x]) exceeds 0.01.
ACTIVE_THRESHOLD = 0.01
# Latent scale (same pass): a uniform subsample of this many seeded posterior samples per
# channel feeds the histograms (bottom-k, so batching and sharding do not change it).
SCALE_SUBSAMPLE = 4_096
# Below this total KL (nats) each dimension's share of it is a ratio of rounding noise; the
# console table shows "–" instead of percentages (the JSON keeps the numbers).
KL_SHARE_MIN_TOTAL = 0.01
FIGURE_MAX_CHANNELS = 32  # per-channel figures (latent histograms, KL maps) show at most this many channels

# --- spatial latents -------------------------------------------------------------
# A latent code with positions (C, H, W) is reduced per item for umap and disentangle:
# "channel-mean" averages each channel over its positions (C features), "flatten" keeps
# every value (C·H·W features).
SPATIAL_CODE = "channel-mean"
SPATIAL_CODES = ("channel-mean", "flatten")

# --- train -------------------------------------------------------------------
TRAIN_EPOCHS = 30
TRAIN_LATENT_DIM = 10
TRAIN_BATCH_SIZE = 64
TRAIN_LEARNING_RATE = 1e-3
# KL warm-up steps (β rises linearly from 0); 0 = none, so existing recipes train as before.
# `--kl-warmup 500` is what makes a conv-vae on shapes use its latents within one short epoch
# (README, "A shapes model worth analysing").
TRAIN_KL_WARMUP = 0
BETA = 1.0
BETA_VAE_BETA = 8.0  # `train beta-vae` without --beta
GAN_LATENT_DIM = 16
GAN_LEARNING_RATE = 2e-4  # Adam with beta1 = 0.5, as in Radford et al. 2016 (DCGAN)
# Training holds a data set in memory as float32 when it is smaller than this;
# larger ones are streamed from the source batch by batch (memory: one batch).
TRAIN_CACHE_BYTES = 64 * 2**20

# --- demo ----------------------------------------------------------------------
DEMO_DIR = "latentkit-demo"
DEMO_EPOCHS = 40
DEMO_LATENT_DIM = 10
DEMO_BETA = 8.0

# --- disentanglement (disentanglement_lib as used in Locatello et al. 2019) --------
NUM_BINS = 20  # equal-width histogram bins per code dimension
TRAIN_FRACTION = 0.8  # fixed-data split: training rows are the first ceil(0.8 N)
DISENTANGLE_N = 10_000  # observations encoded from a data source
DISENTANGLE_METRICS = (
    "mig",
    "dci",
    "sap",
    "modularity",
    "irs",
    "unsupervised",
    "beta_vae",
    "factor_vae",
)  # the JSON's score names start with these; --metrics also accepts beta-vae and factor-vae
DCI_MODEL = "reference"  # sklearn GradientBoostingClassifier(); "fast" = LightGBM
DCI_N_JOBS = -1  # threads fitting factors at once; -1 = one per factor (see analysis/dci.py)
# "fast" DCI: LightGBM trees grown like the reference GBT (100 rounds, rate 0.1, depth 3,
# leaves down to 1 sample, least-squares splits on residuals, Newton leaves); thresholds are
# binned. Within 0.02 of the reference on every shared case (benchmarks/bench_disentangle.py).
DCI_FAST_NUM_ROUNDS = 100
DCI_FAST_LEARNING_RATE = 0.1
DCI_FAST_MAX_DEPTH = 3
DCI_FAST_MIN_DATA_IN_LEAF = 1
DCI_FAST_MAX_BIN = 511
SAP_SVC_C = 0.01
IRS_DIFF_QUANTILE = 0.99
BETA_VAE_BATCH_SIZE = 64
BETA_VAE_NUM_TRAIN = 10_000
BETA_VAE_NUM_EVAL = 5_000
FACTOR_VAE_BATCH_SIZE = 64
FACTOR_VAE_NUM_TRAIN = 10_000
FACTOR_VAE_NUM_EVAL = 5_000
FACTOR_VAE_NUM_VARIANCE_ESTIMATE = 10_000
FACTOR_VAE_PRUNE_THRESHOLD = 0.05
SAMPLER_OBSERVE_ROWS = 8192  # most rows handed to one observe() call by the two scores above
# disentangle encodes every distinct image of a source that renders by factor (shapes) up front,
# in a thread beside the other metrics, when the two scores above would draw at least this share
# of those images anyway (their defaults draw ~2.9 million observations: ~99% of shapes' images).
SAMPLER_PREFETCH_COVERAGE = 0.9
BOOTSTRAP = 0  # resamples for confidence intervals; 0 = none
BOOTSTRAP_CONFIDENCE = 0.95

# --- figures of the latent space ----------------------------------------------------
INTERPOLATE_STEPS = 10
INTERPOLATE_PAIRS = 4
INTERPOLATE_MODE = "both"
INTERPOLATE_MODES = ("lerp", "slerp", "both")
TRAVERSE_RANGE = 3.0  # values -3..3 of the traversed dimension; or "quantile"
TRAVERSE_STEPS = 9
TRAVERSE_QUANTILES = (0.05, 0.95)  # `--range quantile`: these quantiles of the posterior means
TRAVERSE_N = 2_000  # data points encoded for the KL order, quantiles and base codes
TRAVERSE_SENSITIVITY_N = 64  # base codes the decoder sensitivity is averaged over
TRAVERSE_SENSITIVITY_STEP = 0.1  # h of the central difference (x(z + h e_i) − x(z − h e_i)) / 2h
# The decoder ignores a dimension whose sensitivity is under this share of the largest one, or
# under this absolute value (1e-4: one unit moves the output by under 1% RMS of the pixel range).
TRAVERSE_IGNORED_SENSITIVITY = 0.01
TRAVERSE_IGNORED_SENSITIVITY_ABSOLUTE = 1e-4
TRAVERSE_GIF_FRAME_MS = 120
UMAP_METHOD = "umap"
UMAP_METHODS = ("umap", "pca", "tsne")
UMAP_N = 5_000  # points projected unless --n says otherwise (all of a smaller data set)
UMAP_NEIGHBORS = 15  # umap-learn's default
UMAP_MIN_DIST = 0.1  # umap-learn's default
UMAP_EXACT_KNN_MAX = 50_000  # up to this many points, exact k-NN (no pynndescent compile; see analysis/projection.py)
UMAP_PIXEL_COMPONENTS = 50  # joint data/generated projections start from this many PCA features of the pixels
TRUSTWORTHINESS_K = 10
TRUSTWORTHINESS_SUBSAMPLE = 2_000
TRUSTWORTHINESS_WARN = 0.9  # below this, the projection invents neighbourhoods: say so

# --- caveats: when a figure or a diagnosis must say what the data cannot support -----------
# Below this many points, Var(μ) is too uncertain to call a dimension active or collapsed:
# for Gaussian means its relative standard error is √(2/(n−1)) = 0.2 at n = 51.
ACTIVITY_MIN_N = 51
# A dimension whose Var(μ) is within this many standard errors of the threshold is undecided.
ACTIVITY_UNDECIDED_SE = 2.0
# Decoded cells that differ by less than one grey level of an 8-bit image look identical.
IDENTICAL_PIXEL_RANGE = 1.0 / 255.0
# The KL axis of kl-report never spans less than this (nats): a collapsed model's
# 1e-5 nats stay flat bars, not a landscape.
KL_AXIS_MIN_NATS = 0.1
# Points encoded to judge whether a model is collapsed where a command needs few of them
# (interpolate's endpoints).
COLLAPSE_CHECK_N = 512

# --- report ------------------------------------------------------------------------
REPORT_N = 5_000  # rows encoded once and shared by every analysis (all of a smaller data set)
REPORT_PROJECTION = "umap"
REPORT_BOOTSTRAP = 20  # resamples for the disentanglement scores' intervals
REPORT_DCI_MODEL = "fast"  # LightGBM DCI: within 0.02 of the reference, and fast enough to bootstrap

# --- limits: what a file or an option may ask for (memory stays proportional to the input) -----
MAX_IMAGE_PIXELS = 4096 * 4096  # an input image larger than this is refused (decompression bombs)
MAX_STEPS = 1_000  # --steps of interpolate and traverse
MAX_PAIRS = 1_000  # --pairs of interpolate
MAX_PATH_POINTS = 10_000  # --pairs × --steps of interpolate: decoded images (per mode) stay in memory together
MAX_SEED = 2**32 - 1  # numpy's and torch's seeds are unsigned 32-bit
