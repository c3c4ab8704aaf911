"""What every renderer of a scene builds first: its camera pose and its objects' box transforms.

Axis legend: B scenes, N objects.
"""

from jaxtyping import Float
from torch import Tensor

from giraffehd.rendering.camera import camera_to_world
from giraffehd.rendering.transforms import BoxTransform, rotation_about_up
from giraffehd.scene import SceneParameters


def scene_pose(scene: SceneParameters) -> Float[Tensor, "B 4 4"]:
    """Camera-to-world matrices of the scenes' cameras (azimuth, elevation in degrees; radius)."""
    return camera_to_world(scene.camera_azimuth_deg, scene.camera_elevation_deg, scene.camera_radius)


def scene_boxes(scene: SceneParameters) -> BoxTransform:
    """Each object's box: scale (half sizes), rotation about +y (degrees) and translation."""
    return BoxTransform(
        scale=scene.object_scale,
        rotation=rotation_about_up(scene.object_rotation_deg),
        translation=scene.object_translation,
    )
