"""Build the offline photo data set: real photos from Debian packages and Python wheels.

    python scripts/build_photos.py data/photos          # -> data/photos/{train,validation,test}/, DATACARD.md

Debian packages are fetched with `apt-get download` and unpacked with `dpkg-deb -x` (nothing is
installed); scikit-image's photos come from the installed package, scikit-learn's from its wheel
(`pip download`, unzipped). These sources mix photos with drawings and renders, so photos are chosen
by the explicit lists below (each checked by eye). Whole photos are held out for validation and test. Each
photo is stored as JPEG (quality 95) with its short side reduced to at most 768 px (enough for the
paper preset's resize to [256, 384]); the licence files of each source are copied next to them.
The repository stores none of this.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

MAX_SHORT_SIDE = 768
LARGE_MIN_SIDE = 1600  # held-out photos with a long side of at least this are kept at full size too
# package -> (folder inside the package, [photos]); drawings, renders and abstract art are left out
DEBIAN_PHOTOS = {
    "lomiri-wallpapers-16.04": ("usr/share/backgrounds", [
        "Dragonfly_by_Bolly.jpg", "Picture_0B_by_freespace.jpg", "Picture_1A_by_freespace.jpg",
        "Wine_by_Jakkub_Mede.jpg", "aitzgorri_by_Aitzol_Berasategi.jpg", "friends_by_Aitzol_Berasategi.jpg",
        "life_by_Aitzol_Berasategi.jpg", "picosdeeuropa_by_Aitzol_Berasategi.jpg", "seeding_by_Clements_Engelhardt.jpg",
        "sunset_by_Aitzol_Berasategi.jpg",
    ]),
    "mate-backgrounds": ("usr/share/backgrounds/mate/nature", [
        "Aqua.jpg", "Blinds.jpg", "Dune.jpg", "FreshFlower.jpg", "Garden.jpg", "GreenMeadow.jpg", "LadyBird.jpg",
        "RainDrops.jpg", "Storm.jpg", "TwoWings.jpg", "Wood.jpg", "YellowFlower.jpg",
    ]),
    "lxqt-themes": ("usr/share/lxqt/wallpapers", [
        "Butterfly-Kenneth-Wimer.jpg", "Valendas.png", "after-the-rain.jpg", "appleflower.png", "butterfly.png",
        "cloud.png", "drop.png", "flowers.png", "fog.jpg",
    ]),
    "palapeli-data": ("usr/share/palapeli/collection", [
        "castle-maintenon.jpg", "cincinnati-bridge.jpg", "citrus-fruits.jpg", "european-honey-bee.jpg",
        "panther-chameleon-female.jpg",
    ]),
    "tuxpaint-data": ("usr/share/tuxpaint/templates", [
        "burnt_bark.jpg", "cliff.jpg", "corn_maze.jpg", "jellyfish.jpg", "lighthouse.jpg", "mossy_bark.jpg",
        "mossy_log.jpg", "mudstone.jpg", "ocean_splash.jpg", "ocean_waves.jpg", "redwoods_above.jpg", "rocks.jpg",
        "sheep.jpg", "spiders_web.jpg", "sun_behind_clouds.jpg", "sun_behind_leaves.jpg", "trees_above.jpg",
        "trees_at_dusk.jpg", "wool_mill_machine.jpg",
    ]),
}
# GCompris keeps its photos in Qt resource files (read with scripts/qt_rcc.py): these folders hold
# photos (animals, monuments, fishes, objects, renewable energy); the names listed are paintings or
# renders in those folders and are left out. Its "words" images are drawings and are not used.
GCOMPRIS_FOLDERS = [
    "erase/resource", "categorization/resource/images/renewable", "categorization/resource/images/fishes",
    "categorization/resource/images/monuments", "categorization/resource/images/others", "details/resource/image",
    "explore_world_animals/resource/animals", "explore_farm_animals/resource/animals", "explore_monuments/resource/india",
    "explore_monuments/resource/usa", "explore_monuments/resource/france", "explore_monuments/resource/germany",
    "explore_monuments/resource/wonders", "explore_monuments/resource/egypt",
]
GCOMPRIS_NOT_PHOTOS = {
    "volleyball.webp", "PortraitOfPereTanguy_background.webp", "Van_Gogh_The_Night_Cafe_background.webp",
    "Eglise_dAuvers-sur-Oise_background.webp", "VincentVanGoghBridge_background.webp", "VincentVanGogh0012_background.webp",
    "VincentVanGogh0013_background.webp", "Gogh4_background.webp", "VincentVanGogh0019_background.webp",
}
GCOMPRIS_MIN_SIDE = 200  # smaller ones are icons
SKIMAGE_PHOTOS = ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png"]
SKLEARN_PHOTOS = ["sklearn/datasets/images/china.jpg", "sklearn/datasets/images/flower.jpg"]
LICENCES = {
    "lomiri-wallpapers-16.04": "CC-BY-4.0 / CC-BY-SA-4.0 (per file, see copyright file)",
    "mate-backgrounds": "GPL-2+",
    "lxqt-themes": "CC-BY-SA-3.0 / LGPL (see copyright file)",
    "palapeli-data": "GPL-2+ (KDE Palapeli collection; see copyright file)",
    "tuxpaint-data": "GPL-2+",
    "gcompris-qt-data": "GPL-3+ (GCompris; see copyright file)",
    "scikit-image": "see skimage/data/README.txt (public domain / CC0 / CC-BY per image)",
    "scikit-learn": "china.jpg and flower.jpg: see sklearn/datasets/images/README.txt",
}
# Whole photos kept out of training, spread over the sources. Validation chooses checkpoints and
# settings; test reports the chosen model and is never used to choose anything.
VALIDATION = {"life_by_Aitzol_Berasategi", "LadyBird", "Storm", "ocean_waves", "coffee"}
TEST = {"sunset_by_Aitzol_Berasategi", "fog", "castle-maintenon", "lighthouse", "sheep"}


def store(source: Path, target: Path, max_short_side: int | None = MAX_SHORT_SIDE) -> tuple[int, int]:
    """Save `source` as an upright RGB JPEG with the short side at most `max_short_side`; returns (w, h)."""
    from PIL import Image, ImageOps

    with Image.open(source) as image:
        image = ImageOps.exif_transpose(image).convert("RGB")
        scale = (max_short_side or min(image.size)) / min(image.size)
        if scale < 1:
            image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)
        image.save(target, quality=95)
        return image.size


def fetch_debian(package: str, cache: Path) -> Path:
    unpacked = cache / package
    if not unpacked.is_dir():
        subprocess.run(["apt-get", "download", package], cwd=cache, check=True, capture_output=True)
        deb = next(cache.glob(f"{package}_*.deb"))
        subprocess.run(["dpkg-deb", "-x", str(deb), str(unpacked)], check=True)
    return unpacked


def fetch_sklearn_wheel(cache: Path) -> Path:
    unpacked = cache / "scikit-learn"
    if not unpacked.is_dir():
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "-d", str(cache),
                        "scikit-learn"], check=True, capture_output=True)
        wheel = next(cache.glob("scikit_learn-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            for name in archive.namelist():
                if name.startswith("sklearn/datasets/images/"):
                    archive.extract(name, unpacked)
    return unpacked


def gcompris_photos(root: Path, folder: Path) -> list[tuple[str, Path, str]]:
    """GCompris photos, extracted from its .rcc files into `folder`."""
    import io

    from PIL import Image

    sys.path.insert(0, str(Path(__file__).parent))
    from qt_rcc import read_rcc

    folder.mkdir(parents=True, exist_ok=True)
    found = []
    for rcc in sorted((root / "usr/share/gcompris-qt/rcc").glob("*.rcc")):
        for name, payload in read_rcc(rcc).items():
            directory, _, file_name = name.rpartition("/")
            if not any(directory.endswith(wanted) for wanted in GCOMPRIS_FOLDERS) or file_name in GCOMPRIS_NOT_PHOTOS:
                continue
            if not file_name.lower().endswith(".webp"):
                continue
            with Image.open(io.BytesIO(payload)) as image:
                if min(image.size) < GCOMPRIS_MIN_SIDE:
                    continue
            stem = f"gcompris_{directory.rsplit('/', 1)[-1]}_{Path(file_name).stem}"
            target = folder / f"{stem}.webp"
            target.write_bytes(payload)
            found.append(("gcompris-qt-data", target, target.name))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output", type=Path, help="new folder for train/, validation/ and DATACARD.md")
    parser.add_argument("--cache", type=Path, help="folder for downloaded packages (default: a temporary one)")
    args = parser.parse_args()
    if args.output.exists() and any(args.output.iterdir()):
        print(f"build_photos: {args.output} exists and is not empty; choose a new folder", file=sys.stderr)
        return 1
    cache = args.cache or Path(tempfile.mkdtemp(prefix="glcic-photos-"))
    cache.mkdir(parents=True, exist_ok=True)
    for split in ("train", "validation", "test", "validation_large", "test_large", "licences"):
        (args.output / split).mkdir(parents=True, exist_ok=True)
    sources: list[tuple[str, Path, str]] = []  # (source name, file, photo name)
    for package, (folder, names) in DEBIAN_PHOTOS.items():
        root = fetch_debian(package, cache)
        shutil.copy(root / "usr/share/doc" / package / "copyright", args.output / "licences" / f"{package}.txt")
        sources += [(package, root / folder / name, name) for name in names]
    gcompris = fetch_debian("gcompris-qt-data", cache)
    shutil.copy(gcompris / "usr/share/doc/gcompris-qt-data/copyright", args.output / "licences" / "gcompris-qt-data.txt")
    sources += gcompris_photos(gcompris, cache / "gcompris-photos")
    import skimage

    skimage_data = Path(skimage.__file__).parent / "data"
    shutil.copy(skimage_data / "README.txt", args.output / "licences" / "scikit-image.txt")
    sources += [("scikit-image", skimage_data / name, name) for name in SKIMAGE_PHOTOS]
    sklearn_root = fetch_sklearn_wheel(cache)
    readme = sklearn_root / "sklearn/datasets/images/README.txt"
    if readme.is_file():
        shutil.copy(readme, args.output / "licences" / "scikit-learn.txt")
    sources += [("scikit-learn", sklearn_root / name, Path(name).name) for name in SKLEARN_PHOTOS]

    from PIL import Image

    rows, sizes = [], {"train": [], "validation": [], "test": []}
    for source, path, name in sources:
        stem = Path(name).stem
        split = "validation" if stem in VALIDATION else "test" if stem in TEST else "train"
        width, height = store(path, args.output / split / f"{stem}.jpg")
        sizes[split].append((width, height))
        if split != "train":  # held-out photos also at full resolution, for `glcic evaluate --protocol large`
            with Image.open(path) as original:
                if max(original.size) >= LARGE_MIN_SIDE:
                    store(path, args.output / f"{split}_large" / f"{stem}.jpg", max_short_side=None)
        rows.append(f"| {split} | {stem}.jpg | {source} | {width}x{height} | {LICENCES[source]} |")
    card = [
        "# Photo data set (built offline by scripts/build_photos.py)",
        "",
        f"{len(sources)} photos: {len(sizes['train'])} for training; whole photos held out, {len(sizes['validation'])} for "
        f"validation (choosing checkpoints) and {len(sizes['test'])} for test (reporting only); those of them with a long side "
        f"of at least {LARGE_MIN_SIDE} px are also in validation_large/ and test_large/ at full resolution.",
        f"Stored as JPEG q95, short side at most {MAX_SHORT_SIDE} px; median size "
        f"{int(np.median([w for w, _ in sum(sizes.values(), [])]))}x{int(np.median([h for _, h in sum(sizes.values(), [])]))}.",
        "Sources: Debian packages (apt-get download + dpkg-deb -x, not installed), the scikit-image package and the",
        "scikit-learn wheel. Photos were picked by explicit lists; drawings, renders and abstract wallpapers were left out.",
        "Content: landscapes, plants and flowers, animals, fishes, monuments and buildings, objects, textures (bark, rock,",
        "water); almost no faces. The licence files of every source are in licences/.",
        "",
        "| split | file | source | size | licence |",
        "|---|---|---|---|---|",
        *rows,
    ]
    (args.output / "DATACARD.md").write_text("\n".join(card) + "\n")
    print(f"wrote {len(sources)} photos to {args.output} ({len(sizes['train'])} train, {len(sizes['validation'])} validation, "
          f"{len(sizes['test'])} test)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
