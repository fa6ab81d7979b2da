"""The portal's routes, one `APIRouter` per area; `portal.app.create_app` includes them all."""
