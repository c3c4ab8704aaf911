"""The fidelity protocol: which FID/KID figures are worth quoting, and what keeps a figure from being one.

The protocol (docs/evaluation_fid.md): at least ``PROTOCOL_NUM_SAMPLES`` generated images, against the whole
reference set (every image of the dataset's folder; cached features), at the resolution of the generated
images, with the real-against-real floor (as many real images, not in the reference, against the same
reference) beside each figure. FID is biased upwards at small counts and the floor shows by how much, so a
figure without its floor, or measured with other counts, cannot be compared with one that follows it.

A figure that departs from it is still reported, with the reasons (``protocol_deviations``), so quick checks
with fewer samples stay possible but are never mistaken for the protocol's figures.
"""

PROTOCOL_NAME = "fidelity protocol"
PROTOCOL_NUM_SAMPLES = 2000


def protocol_deviations(
    num_samples: int,
    num_reference: int,
    num_in_reference_set: int,
    sample_size: tuple[int, int],
    reference_size: tuple[int, int],
    has_floor: bool,
) -> tuple[str, ...]:
    """How a measurement departs from the protocol, one short phrase per departure (empty: it follows it).

    ``num_in_reference_set``: images the reference set holds (the protocol uses all of them); sizes are
    (height, width) in pixels: the generated images as scored (after any resize) and the first reference image.
    """
    deviations = []
    if num_samples < PROTOCOL_NUM_SAMPLES:
        deviations.append(f"{num_samples} generated images (protocol: at least {PROTOCOL_NUM_SAMPLES})")
    if num_reference < num_in_reference_set:
        deviations.append(f"reference: {num_reference} of {num_in_reference_set} images (protocol: all)")
    if tuple(sample_size) != tuple(reference_size):
        deviations.append(
            f"generated {_size(sample_size)} against {_size(reference_size)} real images (protocol: the same size)"
        )
    if not has_floor:
        deviations.append("no real-against-real floor")
    return tuple(deviations)


def describe_protocol(deviations: tuple[str, ...] | list[str]) -> str:
    """The protocol's name, or "NOT the fidelity protocol: <why>" for a figure that departs from it."""
    return PROTOCOL_NAME if not deviations else f"NOT the {PROTOCOL_NAME}: {'; '.join(deviations)}"


def quality_figures(fid: float, kid: float, kid_std: float) -> str:
    """FID and KID as tables show them: "FID 12.34, KID 0.0123 +- 0.0004"."""
    return f"FID {fid:.2f}, KID {kid:.4f} +- {kid_std:.4f}"


def _size(size: tuple[int, int]) -> str:
    height, width = size
    return f"{width} px" if height == width else f"{width}x{height} px"
