def test_home_page_is_served(client):
    response = client.get("/")
    assert response.status_code == 200
