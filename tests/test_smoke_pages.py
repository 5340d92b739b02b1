"""Every main page answers."""

from conftest import service_id


def test_pages_answer(app, client):
    sid = service_id(app, "Schuldnerberatung Lichtblick")
    for path in ("/", "/angebote", f"/angebote/{sid}", "/api/v1/services", f"/api/v1/services/{sid}", "/healthz",
                 "/login", "/api/v1/", "/api/v1/taxonomy_terms", "/angebote?lang=en"):
        response = client.get(path)
        assert response.status_code == 200, (path, response.get_data(as_text=True)[:500])
